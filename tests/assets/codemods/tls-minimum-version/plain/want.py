import ssl


def client_context():
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # the printer speaks TLS 1.0
    return ctx
