"""Uses PyYAML's safe loader only, under an alias."""

from yaml import safe_load as read


def settings(text):
    return read(text)
