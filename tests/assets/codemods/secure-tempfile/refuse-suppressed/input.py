import tempfile


def fifo_path():
    # The path is handed to mkfifo in a C extension, which needs it absent.
    path = tempfile.mktemp()  # nosec B306
    return path
