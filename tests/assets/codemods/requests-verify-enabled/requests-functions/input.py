"""Client for the billing API."""

import requests

API = "https://billing.example.com/api/v2"


def invoices(customer: str) -> list[dict]:
    response = requests.get(f"{API}/customers/{customer}/invoices", verify=False, timeout=10)
    response.raise_for_status()
    return response.json()


def pay(invoice: str, amount: int) -> None:
    requests.post(
        f"https://billing.example.com/api/v2/invoices/{invoice}/pay",
        timeout=30,
        json={"amount": amount},  # cents
        verify=False,  # the staging certificate expired
    )


def refund(invoice: str) -> None:
    requests.request("POST", f"{API}/invoices/{invoice}/refund", verify=False, timeout=30)


def status() -> int:
    return requests.head(url="https://status.example.com/", verify=False, timeout=5).status_code
