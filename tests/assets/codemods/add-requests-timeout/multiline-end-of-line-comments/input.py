import requests


def fetch(url, token):
    return requests.get(
        url,  # the endpoint
        headers={"Authorization": token}  # bearer
    )


def submit(url, payload):
    return requests.post(url, data=payload  # form-encoded
    )


def status(url):
    return requests.head(url, allow_redirects=True,  # follow to the canonical URL
    )
