import ssl


def test_legacy_handshake_is_rejected():
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1
