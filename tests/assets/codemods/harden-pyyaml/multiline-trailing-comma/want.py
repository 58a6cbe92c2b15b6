import yaml


def read(stream):
    # the settings document
    data = yaml.load(
        stream,  # an open file
        Loader=yaml.SafeLoader,
    )
    more = yaml.load(
        stream,
        Loader=yaml.SafeLoader)
    return data, more
