"""Deliver rendered messages to webhooks over HTTP, with retries."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def session(retries: int = 3, retry_on: tuple[int, ...] = (502, 503, 504)) -> requests.Session:
    retry = Retry(
        total=retries,
        backoff_factor=0.1,
        status_forcelist=retry_on,
        allowed_methods=frozenset({"POST"}),
    )
    s = requests.Session()
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s


def post(
    url: str,
    body: str,
    *,
    sender: str,
    headers: dict[str, str] | None = None,
    retries: int = 3,
    timeout: float = 10.0,
) -> int:
    merged = {"Content-Type": "text/html; charset=utf-8", "X-Sender": sender}
    merged.update(headers or {})
    with session(retries) as s:
        response = s.post(url, data=body.encode("utf-8"), headers=merged, timeout=timeout)
    response.raise_for_status()
    return response.status_code
