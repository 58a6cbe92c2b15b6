from requests import get as fetch
from requests import request


def both(url):
    return fetch(url, params={"q": 1}, timeout=60), request("GET", url, timeout=60)
