from yaml import FullLoader, load


def read(stream):
    return load(stream, Loader=FullLoader)
