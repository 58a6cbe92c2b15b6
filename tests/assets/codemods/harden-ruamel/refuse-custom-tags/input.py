from ruamel.yaml import YAML


def read(stream):
    return YAML(typ="unsafe").load(stream)
