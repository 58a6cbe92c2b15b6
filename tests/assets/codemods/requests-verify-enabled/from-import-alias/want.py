from httpx import Client as HttpClient
from requests import get as http_get
from requests import Session


def latest_release(project):
    return http_get(f"https://pypi.org/pypi/{project}/json", timeout=10).json()


def mirror():
    session = Session()
    return session.get("https://files.pythonhosted.org/", timeout=10)


def client():
    return HttpClient()
