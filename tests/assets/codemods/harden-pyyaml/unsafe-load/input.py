import yaml
from yaml import unsafe_load


def read(text):
    a = unsafe_load(text)
    b = yaml.full_load(text)
    c = list(yaml.unsafe_load_all(text))
    return a, b, c
