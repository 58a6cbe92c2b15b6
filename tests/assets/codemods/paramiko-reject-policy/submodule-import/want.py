from paramiko import client


def connect(host):
    ssh_client = client.SSHClient()
    ssh_client.load_system_host_keys()
    ssh_client.set_missing_host_key_policy(client.RejectPolicy())
    ssh_client.connect(host)
    return ssh_client
