import os
import socket
import tempfile
from pathlib import Path


def scratch_dir():
    path = tempfile.mktemp()
    os.mkdir(path)
    return path


def control_socket():
    address = tempfile.mktemp(suffix=".sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    return server


def fifo():
    name = tempfile.mktemp()
    os.mkfifo(name, 0o600)
    return name


def fresh_name():
    candidate = tempfile.mktemp()
    while os.path.exists(candidate):
        candidate = tempfile.mktemp()
    return candidate


def publish(data, final):
    staging = tempfile.mktemp(dir=os.path.dirname(final))
    with open(staging, "w") as out:
        out.write(data)
    os.rename(staging, final)


def exclusive():
    lock = tempfile.mktemp(suffix=".lock")
    with open(lock, "x") as handle:
        handle.write(str(os.getpid()))


def directory_tree():
    root = tempfile.mktemp()
    Path(root).mkdir(parents=True)
    return root
