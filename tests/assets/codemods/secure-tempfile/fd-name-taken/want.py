import os
import tempfile


def copy_from(fd):
    tmp_fd, path = tempfile.mkstemp()
    os.close(tmp_fd)
    with os.fdopen(fd, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    return path
