import paramiko


def deferred(host, hooks):
    client = paramiko.SSHClient()
    hooks.append(lambda: client.set_missing_host_key_policy(paramiko.AutoAddPolicy()))
    return client


def chained(host):
    client = paramiko.SSHClient()
    return client.set_missing_host_key_policy(paramiko.WarningPolicy())
