import yaml


def read(stream):
    a = yaml.load(stream)  # nosec B506
    b = yaml.load(stream, Loader=yaml.Loader)  # noqa: S506 - trusted file
    c = yaml.unsafe_load(stream)  # pragma: no-remediate
    d = yaml.load(  # nosec
        stream,
    )
    return a, b, c, d
