import os
import tempfile


def copy_from(fd):
    path = tempfile.mktemp()
    with os.fdopen(fd, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    return path
