import httpx


def fetch(url: str) -> bytes:
    return httpx.get(url, follow_redirects=True).content


def client() -> httpx.Client:
    return httpx.Client(timeout=30.0)


def async_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url="https://api.example.org",
        http2=True,
    )


def transport() -> httpx.HTTPTransport:
    return httpx.HTTPTransport(retries=3)
