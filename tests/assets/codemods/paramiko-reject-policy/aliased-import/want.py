import paramiko as pm


def connect(host):
    conn = pm.SSHClient()
    conn.load_system_host_keys()
    conn.set_missing_host_key_policy(pm.RejectPolicy())
    conn.connect(host)
    return conn
