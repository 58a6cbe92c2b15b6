import yaml
from yaml import CLoader


def fast(stream):
    return yaml.load(stream, Loader=CLoader), yaml.load(stream, Loader=yaml.CFullLoader)
