from cryptography.hazmat.primitives.asymmetric.ec import SECP192R1 as LEGACY_CURVE
from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key


def device_key():
    return generate_private_key(LEGACY_CURVE())
