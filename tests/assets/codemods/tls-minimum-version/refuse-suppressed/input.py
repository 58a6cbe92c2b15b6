import ssl


def legacy_context():
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1  # noqa: S502 - talks to a 2009 appliance
    return ctx
