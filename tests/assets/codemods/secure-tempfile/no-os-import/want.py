import tempfile
import os


def dump(rows):
    fd, name = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    with open(name, "w", encoding="utf-8") as out:
        out.writelines(rows)
    return name
