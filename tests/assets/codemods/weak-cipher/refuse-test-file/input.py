from Crypto.Cipher import DES


def test_des_known_answer():
    # FIPS 81 known-answer vector: checks the legacy reader, not a choice of cipher.
    cipher = DES.new(bytes.fromhex("0123456789abcdef"), DES.MODE_ECB)
    out = cipher.encrypt(b"Now is t")
    assert out.hex() == "3fa40e8a984d4815"
