import requests


def sync(url):
    session = requests.Session()
    session.get(url, timeout=60)
    with requests.Session() as s:
        s.put(url, data=b"x", timeout=60)
