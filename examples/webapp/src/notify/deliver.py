"""Deliver rendered messages to webhooks over HTTP, with retries."""

from __future__ import annotations

import hashlib

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
    merged = {
        "Content-Type": "text/html; charset=utf-8",
        "X-Sender": sender,
        "X-Body-Digest": digest(body),
    }
    merged.update(headers or {})
    with session(retries) as s:
        response = s.post(url, data=body.encode("utf-8"), headers=merged, timeout=timeout)
    response.raise_for_status()
    return response.status_code


def digest(body: str) -> str:
    """A short fingerprint of a message body, so receivers can drop duplicates."""
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def reachable(url: str) -> bool:
    """Whether a webhook endpoint answers at all (checked before a batch is sent)."""
    response = requests.head(url, allow_redirects=False)
    return response.status_code < 500
