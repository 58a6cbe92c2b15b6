from paramiko import AutoAddPolicy as TrustAll
from paramiko import SSHClient
from paramiko.client import SSHClient as Client
from paramiko.client import WarningPolicy


def connect(host):
    client = SSHClient()
    client.set_missing_host_key_policy(TrustAll())
    client.connect(host)
    return client


def connect_quietly(host):
    client = Client()
    client.set_missing_host_key_policy(WarningPolicy())
    client.connect(host)
    return client
