import requests as rq


def send(url, payload):
    return rq.post(url, json=payload, timeout=60)
