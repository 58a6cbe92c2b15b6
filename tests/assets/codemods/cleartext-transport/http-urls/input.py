"""A client of a partner API, reached in several ways."""

import urllib.request

import httpx
import requests
import urllib3

API = "http://api.partner.example/v1"
SECURE_API = "https://api.partner.example/v1"


def fetch_orders(token):
    return requests.get("http://api.partner.example/v1/orders", headers={"Authorization": token})


def post_order(order):
    return requests.post(API + "/orders", json=order)


def by_keyword(account):
    return requests.request("GET", url=f"{API}/accounts/{account}")


def session_calls(token):
    session = requests.Session()
    session.headers["Authorization"] = token
    first = session.get(f"http://{token[:4]}.partner.example/")
    with requests.Session() as s:
        second = s.request("DELETE", "http://api.partner.example/v1/cache")
    return first, second


def with_httpx():
    client = httpx.Client(base_url="http://api.partner.example")
    return httpx.get("http://api.partner.example:80/health"), client


def with_urllib(host):
    with urllib.request.urlopen("http://feeds.partner.example/rates.xml") as resp:
        data = resp.read()
    request = urllib.request.Request("HTTP://FEEDS.PARTNER.EXAMPLE/rates")
    pool = urllib3.PoolManager()
    return data, request, pool.request("GET", "http://cdn.partner.example/logo.png")


def already_secure(settings):
    first = requests.get(SECURE_API)
    second = requests.get(settings.API_URL)
    third = {"url": "http://api.partner.example"}.get("url")
    return first, second, third
