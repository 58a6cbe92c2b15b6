from shutil import unpack_archive
from tarfile import TarFile


def unpack(path, dest):
    TarFile(path).extractall(path=dest)
    unpack_archive(path, dest, "gztar")
