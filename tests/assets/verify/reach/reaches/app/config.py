"""Reads settings with PyYAML's FullLoader (the loader CVE-2020-14343 is about)."""

import yaml as y


def load(text):
    return y.load(text, Loader=y.FullLoader)  # noqa: S506 - the vulnerable call this project exists for
