import requests


def fetch(url, token):
    return requests.get(
        url,
        headers={"Authorization": token},  # bearer
    )
