import paramiko


def connect(host):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(policy=paramiko.WarningPolicy)
    client.connect(host)
    return client
