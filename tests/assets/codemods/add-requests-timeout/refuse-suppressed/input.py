import requests


def fetch(url):
    return requests.get(url)  # nosec B113 - local service
