from cryptography.hazmat.primitives.asymmetric import dsa


def new_key(*args):
    return dsa.generate_private_key(*args)
