from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key as gen

DEVICE_KEY = ec.generate_private_key(ec.SECP256R1())
BADGE_KEY = gen(ec.SECP256R1())
SERVER_KEY = ec.generate_private_key(ec.SECP384R1())
