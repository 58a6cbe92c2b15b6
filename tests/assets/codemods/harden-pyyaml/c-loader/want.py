import yaml


def fast(stream):
    return yaml.load(stream, Loader=yaml.CSafeLoader), yaml.load(stream, Loader=yaml.CSafeLoader)
