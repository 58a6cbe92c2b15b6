import os

import paramiko


def connect(host):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(os.path.expanduser("~/.ssh/known_hosts"))
    client.connect(host)
    return client
