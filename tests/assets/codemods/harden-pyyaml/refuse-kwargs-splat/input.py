import yaml


def read(stream, **options):
    return yaml.load(stream, **options)
