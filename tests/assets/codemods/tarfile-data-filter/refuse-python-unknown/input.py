import tarfile


def unpack(path, dest):
    with tarfile.open(path) as archive:
        archive.extractall(dest)
