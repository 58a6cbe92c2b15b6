import paramiko


def connect_to_lab_device(host):
    # Lab devices are re-imaged daily with fresh host keys.
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # nosec B507
    client.connect(host)
    return client
