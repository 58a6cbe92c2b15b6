import requests


def legacy_printer(url):
    # The printer's embedded web server has a self-signed certificate we cannot replace.
    return requests.get(url, verify=False)  # noqa: S501
