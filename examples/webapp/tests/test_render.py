from __future__ import annotations

from pathlib import Path

from notify import render


def test_alert_escapes_and_links(templates: Path) -> None:
    env = render.environment(templates)
    html = render.render(
        env,
        "alert.html",
        event={"title": "<disk>", "level": "high", "body": "see https://example.org/x"},
        sender="ops",
    )
    assert '<span class="badge">&lt;disk&gt;</span>' in html
    assert 'class="alert"' in html and 'data-level="high"' in html
    assert '<a href="https://example.org/x"' in html
