import hashlib as hl


def etag(body: bytes) -> str:
    return hl.sha1(body, usedforsecurity=False).hexdigest()
