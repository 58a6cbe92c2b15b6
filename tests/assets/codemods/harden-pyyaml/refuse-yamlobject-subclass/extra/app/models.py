import yaml


class Monster(yaml.YAMLObject):
    yaml_tag = "!Monster"
