import paramiko


def connect(host):
    policy = paramiko.AutoAddPolicy()
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(policy)
    client.connect(host)
    return client
