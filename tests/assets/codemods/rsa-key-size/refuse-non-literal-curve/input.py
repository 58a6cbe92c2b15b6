from cryptography.hazmat.primitives.asymmetric import ec


def device_key(curve):
    return ec.generate_private_key(curve)
