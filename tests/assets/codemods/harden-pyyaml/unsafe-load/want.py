import yaml


def read(text):
    a = yaml.safe_load(text)
    b = yaml.safe_load(text)
    c = list(yaml.safe_load_all(text))
    return a, b, c
