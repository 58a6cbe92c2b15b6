import tempfile


class Job:
    def __init__(self):
        self.output = tempfile.mktemp()


def open_scratch():
    return open(tempfile.mktemp(), "w")


def two_names():
    first = second = tempfile.mktemp()
    return first, second


def annotated() -> str:
    path: str = tempfile.mktemp()
    return path
