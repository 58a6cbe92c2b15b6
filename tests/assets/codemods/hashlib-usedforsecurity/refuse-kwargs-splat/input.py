import hashlib


def cache_key(data: bytes, **kw) -> str:
    return hashlib.md5(data, **kw).hexdigest()
