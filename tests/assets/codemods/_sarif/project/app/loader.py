import yaml


def settings(path):
    with open(path) as f:
        return yaml.load(f)


def plugins(path):
    with open(path) as f:
        return yaml.load(
            f,
            Loader=yaml.FullLoader,
        )
