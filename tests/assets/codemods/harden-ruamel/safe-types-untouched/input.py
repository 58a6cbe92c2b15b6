from ruamel.yaml import YAML

round_trip = YAML()
explicit_rt = YAML(typ="rt")
safe = YAML(typ="safe", pure=True)
strings_only = YAML(typ="base")
rt_wins = YAML(typ=["unsafe", "rt"])
base_wins = YAML(typ=["base", "unsafe"])
dump_only = YAML(typ="full")
default = YAML(typ=None)
