from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ec import SECT163K1
from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key as gen

DEVICE_KEY = ec.generate_private_key(ec.SECP192R1())
BADGE_KEY = gen(SECT163K1())
SERVER_KEY = ec.generate_private_key(ec.SECP384R1())
