import ssl

ctx = ssl.create_default_context()
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.minimum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
ctx.maximum_version = ssl.TLSVersion.TLSv1_3


class Package:
    minimum_version = None


pkg = Package()
pkg.minimum_version = "1.0"
