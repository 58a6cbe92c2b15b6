from Crypto.Cipher import DES, DES3
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def read_legacy_archive(key, blob):
    # Archives written before 2012 use single DES; they are only ever read, then re-encrypted.
    return DES.new(key, DES.MODE_CBC, blob[:8]).decrypt(blob[8:])  # nosec B304


def talk_to_terminal(key):
    # The payment terminal speaks 3DES only.
    return DES3.new(key, DES3.MODE_CBC, b"\0" * 8)  # noqa: S304


def ecb_card_block(key):
    return Cipher(algorithms.AES(key), modes.ECB())  # nosec B305


def unrelated_suppression(key):
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S105
