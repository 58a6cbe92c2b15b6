import os
import stat


def apply(path):
    os.chmod(path, 0o777 & ~0o022)
    os.chmod(path, stat.S_IRWXU + stat.S_IRWXO)
