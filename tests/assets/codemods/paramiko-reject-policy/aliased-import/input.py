import paramiko as pm


def connect(host):
    conn = pm.SSHClient()
    conn.set_missing_host_key_policy(pm.AutoAddPolicy())
    conn.connect(host)
    return conn
