from hashlib import md5, new


def shard(key: str) -> int:
    return int(md5(key.encode(), usedforsecurity=False).hexdigest(), 16) % 8


def digest(blob: bytes) -> str:
    return new("sha1", blob, usedforsecurity=False).hexdigest()
