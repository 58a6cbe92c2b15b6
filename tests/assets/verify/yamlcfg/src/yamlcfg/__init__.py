"""Settings from YAML text."""

import yaml


def settings(text):
    # PyYAML < 6 defaults the Loader (with a warning); 6.0 requires it.
    return yaml.load(text)  # noqa: S506 - the unsafe call is what this test project is about


def dump(data):
    return yaml.safe_dump(data, sort_keys=True)
