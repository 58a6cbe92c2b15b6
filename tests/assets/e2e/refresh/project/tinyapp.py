"""Splits URLs and reads form posts: one call into urllib3, one into werkzeug."""

from io import BytesIO

from urllib3.util import parse_url
from werkzeug import Request


def host_of(url: str) -> str | None:
    return parse_url(url).host


def form_fields(body: bytes, content_type: str) -> dict[str, str]:
    request = Request.from_values(
        input_stream=BytesIO(body),
        content_length=len(body),
        content_type=content_type,
        method="POST",
    )
    return dict(request.form)
