from Crypto.PublicKey import RSA


def new_key(**options):
    return RSA.generate(**options)
