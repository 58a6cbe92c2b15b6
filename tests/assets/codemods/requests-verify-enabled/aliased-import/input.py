import httpx as hx
import requests as rq


def download(url):
    return rq.get(url, stream=True, verify=False)


def probe(url):
    with hx.Client(verify=False) as client:
        return client.get(url).status_code
