import yaml as y


def read(stream):
    first = y.load(stream, Loader=y.SafeLoader)
    rest = list(y.load_all(stream, y.SafeLoader))
    return first, rest
