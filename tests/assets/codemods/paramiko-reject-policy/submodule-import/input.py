from paramiko import client


def connect(host):
    ssh_client = client.SSHClient()
    ssh_client.set_missing_host_key_policy(client.AutoAddPolicy)
    ssh_client.connect(host)
    return ssh_client
