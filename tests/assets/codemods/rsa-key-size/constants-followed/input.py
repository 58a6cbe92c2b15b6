from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 4096


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
