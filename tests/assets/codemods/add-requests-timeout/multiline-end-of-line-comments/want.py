import requests


def fetch(url, token):
    return requests.get(
        url,  # the endpoint
        headers={"Authorization": token},  # bearer
        timeout=60
    )


def submit(url, payload):
    return requests.post(url, data=payload, timeout=60  # form-encoded
    )


def status(url):
    return requests.head(url, allow_redirects=True, timeout=60,  # follow to the canonical URL
    )
