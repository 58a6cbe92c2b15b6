"""Legacy token encryption built on pycryptodome."""

from Crypto.Cipher import AES, ARC2, ARC4, DES, DES3, Blowfish, CAST
from Cryptodome.Cipher import DES as DomeDES


def encrypt_token(key, data):
    cipher = DES.new(key, DES.MODE_CBC, iv=b"\0" * 8)
    return cipher.encrypt(data)


def encrypt_triple(key, data):
    return DES3.new(key, DES3.MODE_ECB).encrypt(data)


def stream(key):
    return ARC4.new(key)


def legacy_blob(key, iv):
    return Blowfish.new(key, Blowfish.MODE_CBC, iv), ARC2.new(key, ARC2.MODE_CFB, iv)


def cast_cipher(key, iv):
    return CAST.new(key, CAST.MODE_OFB, iv)


def aes_blocks(key):
    return AES.new(
        key,
        AES.MODE_ECB,
    )


def dome(key, iv):
    return DomeDES.new(key, DomeDES.MODE_CBC, iv)


# A mode chosen apart from the cipher that uses it.
DEFAULT_MODE = AES.MODE_ECB


def good(key, nonce):
    return AES.new(key, AES.MODE_GCM, nonce=nonce)
