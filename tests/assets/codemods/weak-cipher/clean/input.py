"""Authenticated encryption only, and names that only look like weak ciphers."""

import os

from Crypto.Cipher import AES, ChaCha20_Poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

MODE_ECB = "not a cipher mode"  # a local constant of the same name
DES = {"name": "data encryption standard"}


class Legacy:
    ECB = 1
    MODE_ECB = 1


def seal(key, data):
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data, None)


def seal_chacha(key, data):
    nonce = os.urandom(12)
    return ChaCha20Poly1305(key).encrypt(nonce, data, None)


def pycryptodome(key, nonce):
    return AES.new(key, AES.MODE_GCM, nonce=nonce), ChaCha20_Poly1305.new(key=key, nonce=nonce)


def ctr(key, iv):
    return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()


def names(legacy):
    return MODE_ECB, DES["name"], legacy.ECB, Legacy.MODE_ECB
