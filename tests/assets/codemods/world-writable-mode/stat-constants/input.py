import os
import stat


def publish(path):
    os.chmod(path, stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)


def share(path):
    os.chmod(
        path,
        stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH | stat.S_IWOTH,
    )


def everyone_writes(path):
    os.chmod(path, 0o755 | stat.S_IWOTH)
