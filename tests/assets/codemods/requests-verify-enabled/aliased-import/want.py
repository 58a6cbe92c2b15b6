import httpx as hx
import requests as rq


def download(url):
    return rq.get(url, stream=True)


def probe(url):
    with hx.Client() as client:
        return client.get(url).status_code
