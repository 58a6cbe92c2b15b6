import hashlib


def hash_password(pw: bytes) -> str:
    return hashlib.md5(pw).hexdigest()


def digest(value: bytes) -> str:
    api_token = hashlib.sha1(value).hexdigest()
    return api_token
