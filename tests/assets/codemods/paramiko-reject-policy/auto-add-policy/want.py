"""Run deployment commands over SSH."""

import paramiko


def run(host: str, command: str) -> str:
    client = paramiko.SSHClient()

    # New hosts are trusted on first use.
    client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())  # TOFU
    client.connect(host, username="deploy", timeout=10)
    try:
        _, stdout, _ = client.exec_command(command)
        return stdout.read().decode()
    finally:
        client.close()


def copy(host: str, local: str, remote: str) -> None:
    with paramiko.SSHClient() as ssh:
        ssh.load_system_host_keys()
        ssh.set_missing_host_key_policy(
            paramiko.RejectPolicy(),
        )
        ssh.connect(host)
        with ssh.open_sftp() as sftp:
            sftp.put(local, remote)
