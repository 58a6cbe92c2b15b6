"""Run deployment commands over SSH."""

import paramiko


def run(host: str, command: str) -> str:
    client = paramiko.SSHClient()

    # New hosts are trusted on first use.
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # TOFU
    client.connect(host, username="deploy", timeout=10)
    try:
        _, stdout, _ = client.exec_command(command)
        return stdout.read().decode()
    finally:
        client.close()


def copy(host: str, local: str, remote: str) -> None:
    with paramiko.SSHClient() as ssh:
        ssh.set_missing_host_key_policy(
            paramiko.AutoAddPolicy(),
        )
        ssh.connect(host)
        with ssh.open_sftp() as sftp:
            sftp.put(local, remote)
