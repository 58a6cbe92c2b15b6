import tarfile


def safe_members(archive):
    return [m for m in archive if m.isfile() and ".." not in m.name]


def unpack(path, dest):
    with tarfile.open(path) as archive:
        archive.extractall(dest, members=safe_members(archive))
        archive.extractall(dest, safe_members(archive))
