import hashlib


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() + hashlib.new("sha512", data).hexdigest()
