import requests


def events(url):
    return requests.get(url, stream=True)
