import paramiko


def connect(host):
    client = paramiko.SSHClient()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(policy=paramiko.RejectPolicy())
    client.connect(host)
    return client
