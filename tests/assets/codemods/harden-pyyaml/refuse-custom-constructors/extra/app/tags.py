import yaml


def _point(loader, node):
    return tuple(loader.construct_sequence(node))


yaml.add_constructor("!point", _point)
