import paramiko

CLIENT = paramiko.SSHClient()
CLIENT.load_system_host_keys()
CLIENT.set_missing_host_key_policy(paramiko.RejectPolicy())


def run(command):
    return CLIENT.exec_command(command)
