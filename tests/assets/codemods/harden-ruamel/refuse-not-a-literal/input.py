from ruamel.yaml import YAML


def make(kind):
    return YAML(typ=kind)
