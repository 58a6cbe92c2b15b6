import paramiko


def connect(host, strict):
    client = paramiko.SSHClient()
    if not strict: client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(host)
    return client
