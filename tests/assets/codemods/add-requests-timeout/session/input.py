import requests


def sync(url):
    session = requests.Session()
    session.get(url)
    with requests.Session() as s:
        s.put(url, data=b"x")
