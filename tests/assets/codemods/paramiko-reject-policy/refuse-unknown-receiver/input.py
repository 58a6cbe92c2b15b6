import paramiko


class Remote:
    def __init__(self, host):
        self.host = host
        self.client = paramiko.SSHClient()

    def open(self):
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(self.host)


def prepare(client):
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
