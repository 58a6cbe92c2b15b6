from Crypto.PublicKey import ECC, RSA
from Cryptodome.PublicKey import DSA as D

rsa_key = RSA.generate(2048)
dsa_key = D.generate(bits=2048)
ecc_key = ECC.generate(curve='P-256')
strong = RSA.generate(3072)
