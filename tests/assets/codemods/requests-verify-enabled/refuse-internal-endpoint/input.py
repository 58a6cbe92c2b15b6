import httpx
import requests


def local_services(port):
    requests.get("https://localhost:8443/metrics", verify=False)
    requests.get("https://127.0.0.1/health", verify=False)
    requests.get("https://[::1]:9000/", verify=False)
    requests.get(f"https://localhost:{port}/admin", verify=False)


def private_network():
    requests.post("https://10.20.0.5/api/jobs", json={}, verify=False)
    requests.get("https://192.168.1.1/status", verify=False)
    requests.get("https://vault.service.internal/v1/sys/health", verify=False)
    return httpx.Client(base_url="https://172.16.4.2:8200", verify=False)


VAULT = "https://10.8.0.3:8200"


def vault_health():
    requests.get(VAULT + "/v1/sys/health", verify=False)
    return requests.get(f"{VAULT}/v1/sys/seal-status", verify=False)
