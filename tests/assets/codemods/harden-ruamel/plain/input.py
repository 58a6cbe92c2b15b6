from ruamel.yaml import YAML


def load_settings(path):
    yaml = YAML(typ="unsafe")
    with open(path) as f:
        return yaml.load(f)
