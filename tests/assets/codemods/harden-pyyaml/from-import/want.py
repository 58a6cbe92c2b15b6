from yaml import SafeLoader, load


def read(stream):
    return load(stream, Loader=SafeLoader)
