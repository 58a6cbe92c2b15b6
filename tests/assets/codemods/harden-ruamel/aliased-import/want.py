import ruamel.yaml
import ruamel.yaml as ry
from ruamel.yaml import YAML as Reader

FAST = Reader(typ='safe', pure=False)
PURE = ry.YAML(typ="safe", pure=True)


def load(stream):
    return ruamel.yaml.YAML(typ="safe").load(stream)
