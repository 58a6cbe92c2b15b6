from cryptography.hazmat.primitives.asymmetric import rsa

WEAK_BITS = 1024


def from_config(settings):
    return rsa.generate_private_key(public_exponent=65537, key_size=settings.KEY_BITS)


def from_constant():
    return rsa.generate_private_key(public_exponent=65537, key_size=WEAK_BITS)
