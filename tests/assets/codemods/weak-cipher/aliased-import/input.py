import Crypto.Cipher.DES as des_module
from Crypto.Cipher.AES import MODE_ECB as ECB_MODE
from Crypto.Cipher.AES import new as aes_new
from Crypto.Cipher.ARC4 import new as rc4_new
from Crypto.Cipher.DES3 import new
from cryptography.hazmat.primitives.ciphers import algorithms as algs
from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES as TDES
from cryptography.hazmat.primitives.ciphers.modes import ECB as Electronic


def build(key):
    first = des_module.new(key, des_module.MODE_CBC, b"\0" * 8)
    second = aes_new(key, ECB_MODE)
    third = rc4_new(key)
    fourth = TDES(key)
    fifth = algs.Blowfish(key)
    sixth = Electronic()
    seventh = new(key, 2, b"\0" * 8)
    return first, second, third, fourth, fifth, sixth, seventh
