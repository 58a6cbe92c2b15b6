import ruamel.yaml
import ruamel.yaml as ry
from ruamel.yaml import YAML as Reader

FAST = Reader(typ='unsafe', pure=False)
PURE = ry.YAML(typ="unsafe", pure=True)


def load(stream):
    return ruamel.yaml.YAML(typ="unsafe").load(stream)
