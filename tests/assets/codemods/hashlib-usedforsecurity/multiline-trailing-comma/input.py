import hashlib


def checksum(chunks):
    h = hashlib.md5(
        b"",  # start empty
    )
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()
