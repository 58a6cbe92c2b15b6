from paramiko import RejectPolicy
from paramiko import SSHClient
from paramiko.client import SSHClient as Client


def connect(host):
    client = SSHClient()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(RejectPolicy())
    client.connect(host)
    return client


def connect_quietly(host):
    client = Client()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(RejectPolicy())
    client.connect(host)
    return client
