import tarfile
import zipfile


def unpack(path, dest, archive):
    zipfile.ZipFile(path).extractall(dest)
    archive.extractall(dest)  # unknown object: maybe not a tar archive
    with tarfile.open(path) as tar:
        tar.extractall(dest, filter="tar")
