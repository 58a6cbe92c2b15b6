"""Keeps state as YAML, through PyYAML's safe API only."""

import yaml


def dump(state):
    return yaml.safe_dump(state)


def load(text):
    return yaml.safe_load(text)
