import yaml


def env_var(loader, node):
    return loader.construct_scalar(node)


yaml.add_constructor("!env", env_var, Loader=yaml.FullLoader)
