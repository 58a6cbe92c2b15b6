from Crypto.PublicKey import ECC, RSA
from Cryptodome.PublicKey import DSA as D

rsa_key = RSA.generate(1024)
dsa_key = D.generate(bits=1024)
ecc_key = ECC.generate(curve='P-192')
strong = RSA.generate(3072)
