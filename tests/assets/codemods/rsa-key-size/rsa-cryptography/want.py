import cryptography.hazmat.primitives.asymmetric.rsa as crsa
from cryptography.hazmat.primitives.asymmetric import rsa


def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def legacy_key():
    return crsa.generate_private_key(
        65537,
        2048,  # the old firmware default
    )


def big_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=4096)
