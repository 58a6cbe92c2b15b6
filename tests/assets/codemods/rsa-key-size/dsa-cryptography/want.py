from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.hazmat.primitives.asymmetric.dsa import generate_private_key as new_dsa

KEY = dsa.generate_private_key(key_size=2048)
OTHER = new_dsa(2048)
