import requests


def test_health_endpoint(live_server):
    response = requests.get(live_server.url + "/health", verify=False)
    assert response.status_code == 200
