import hashlib


def cache_key(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
