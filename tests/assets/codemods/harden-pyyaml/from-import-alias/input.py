from yaml import FullLoader as Full
from yaml import load
from yaml import unsafe_load as ul


def read_config(text):
    return ul(text)


def read_plugin(stream):
    return load(stream, Loader=Full)
