import paramiko

CLIENT = paramiko.SSHClient()
CLIENT.set_missing_host_key_policy(paramiko.AutoAddPolicy())


def run(command):
    return CLIENT.exec_command(command)
