from ruamel.yaml import YAML

loader = YAML(
    typ=["unsafe"],  # objects from the old format
    pure=True,
)


def read(stream):
    return loader.load(stream)
