"""Loads plugins by name: which modules run is decided at run time."""

import importlib


def plugin(name):
    return importlib.import_module(name)
