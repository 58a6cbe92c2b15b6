import requests


def test_client_follows_redirect(requests_mock):
    requests_mock.get("http://partner.example/old", status_code=301)
    response = requests.get("http://partner.example/old", allow_redirects=False)
    assert response.status_code == 301
