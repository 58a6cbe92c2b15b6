import yaml


def strings_only(stream):
    # BaseLoader is safe and keeps every scalar a string; switching it would change types.
    return yaml.load(stream, Loader=yaml.BaseLoader)


def already_safe(stream):
    return yaml.load(stream, Loader=yaml.SafeLoader), yaml.safe_load(stream)
