import ssl as s
from ssl import TLSVersion
from ssl import TLSVersion as V


class Server:
    def __init__(self):
        self.context = s.SSLContext(s.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = s.TLSVersion.TLSv1_2

    def relax(self):
        self.context.minimum_version = V.TLSv1_2

    def lowest(self):
        self.context.minimum_version = TLSVersion.TLSv1_2
