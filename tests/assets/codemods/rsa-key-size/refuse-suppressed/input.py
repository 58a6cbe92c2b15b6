from Crypto.PublicKey import RSA

# The card only holds 1024-bit keys.
CARD_KEY = RSA.generate(1024)  # noqa: S505
