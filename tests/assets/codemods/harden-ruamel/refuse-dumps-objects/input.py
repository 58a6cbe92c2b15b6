import sys

from ruamel.yaml import YAML

yaml = YAML(typ="unsafe")


def save(obj):
    yaml.dump(obj, sys.stdout)
