import yaml as y


def read(stream):
    first = y.load(stream, Loader=y.FullLoader)
    rest = list(y.load_all(stream, y.Loader))
    return first, rest
