import ssl


def context(settings):
    ctx = ssl.create_default_context()
    ctx.minimum_version = settings.TLS_MINIMUM
    return ctx
