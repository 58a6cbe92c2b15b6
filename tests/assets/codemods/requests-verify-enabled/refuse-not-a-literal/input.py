import requests
from django.conf import settings


def fetch(url, verify_tls):
    first = requests.get(url, verify=settings.VERIFY_SSL)
    second = requests.get(url, verify=verify_tls)
    return first, second
