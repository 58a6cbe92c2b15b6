import yaml

LOADER = yaml.FullLoader


def read(stream, loader=LOADER):
    return yaml.load(stream, Loader=loader)
