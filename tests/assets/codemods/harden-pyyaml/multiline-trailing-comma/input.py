import yaml


def read(stream):
    # the settings document
    data = yaml.load(
        stream,  # an open file
    )
    more = yaml.load(
        stream)
    return data, more
