from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.hazmat.primitives.asymmetric.dsa import generate_private_key as new_dsa

KEY = dsa.generate_private_key(key_size=1_024)
OTHER = new_dsa(0x400)
