from ruamel.yaml import YAML


def make(**options):
    return YAML(**options)
