import os
import tempfile


def scratch(flag):
    path = tempfile.mktemp(); os.environ["SCRATCH"] = "1"
    if flag: other = tempfile.mktemp()
    return path
