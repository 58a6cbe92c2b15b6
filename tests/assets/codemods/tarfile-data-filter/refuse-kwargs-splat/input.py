import tarfile


def unpack(path, **options):
    with tarfile.open(path) as archive:
        archive.extractall(**options)
