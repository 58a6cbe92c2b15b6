import requests


def fetch(url, **kwargs):
    return requests.get(url, **kwargs)
