from yaml import SafeLoader, safe_load
from yaml import load


def read_config(text):
    return safe_load(text)


def read_plugin(stream):
    return load(stream, Loader=SafeLoader)
