from tinyapp import form_fields, host_of


def test_host_of() -> None:
    assert host_of("https://user@example.org:8443/path?q=1") == "example.org"


def test_multipart_form() -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--b\r\nContent-Disposition: form-data; name="b"\r\n\r\n2\r\n--b--\r\n'
    )
    assert form_fields(body, "multipart/form-data; boundary=b") == {"a": "1", "b": "2"}
