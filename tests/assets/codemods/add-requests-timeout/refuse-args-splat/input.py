import requests


def fetch(*args):
    return requests.request(*args)
