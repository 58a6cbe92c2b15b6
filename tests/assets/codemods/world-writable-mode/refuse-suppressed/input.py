import os


def publish_socket(path):
    # Every local user's client connects to this socket.
    os.chmod(path, 0o777)  # noqa: S103
