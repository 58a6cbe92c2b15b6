import requests


def fetch(url):
    return requests.get(url, timeout=5), requests.get(url, timeout=None)
