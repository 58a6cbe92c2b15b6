import hashlib
import hmac


def same(a: bytes, b: bytes) -> bool:
    expected = hashlib.md5(a).digest()
    return hmac.compare_digest(expected, hashlib.md5(b).digest())
