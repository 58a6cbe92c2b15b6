import os
import stat


def secure(path, sftp, handle):
    os.chmod(path, 0o600)
    os.chmod(path, 0o755)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    # Not a pathlib path: an SFTP client's chmod(path, mode).
    sftp.chmod(path, 0o777)
    handle.chmod(0o777)
