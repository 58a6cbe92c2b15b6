from ruamel.yaml import YAML

yaml = YAML()


@yaml.register_class
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y
