import os
import stat

from settings import UPLOAD_MODE


def apply(path, mode):
    os.chmod(path, mode)
    os.chmod(path, UPLOAD_MODE)
    current = os.stat(path)
    os.chmod(path, current.st_mode | stat.S_IWOTH)
