"""File encryption with `cryptography`'s hazmat layer."""

import os

from cryptography.hazmat.decrepit.ciphers.algorithms import CAST5, SEED
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def legacy_3des(key, iv):
    return Cipher(algorithms.TripleDES(key), modes.CBC(iv)).encryptor()


def rc4(key):
    return Cipher(algorithms.ARC4(key), mode=None).encryptor()


def blocks(key):
    cipher = Cipher(
        algorithms.AES(key),
        modes.ECB(),
    )
    return cipher.encryptor()


def blowfish_ecb(key):
    return Cipher(algorithms.Blowfish(key), modes.ECB()).decryptor()


def decrepit(key, iv):
    return Cipher(CAST5(key), modes.CBC(iv)), Cipher(SEED(key), modes.CFB(iv))


def algorithm_apart(key):
    algorithm = algorithms.IDEA(key)
    mode = modes.ECB()
    return Cipher(algorithm, mode)


def good(key):
    iv = os.urandom(16)
    return Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
