import httpx
import requests

CA_BUNDLE = "/etc/ssl/certs/corp-ca.pem"


def fetch(url):
    requests.get(url, verify=True)
    requests.get(url, verify="/etc/ssl/certs/corp-ca.pem")
    requests.get(url, verify=None)
    return httpx.get(url)
