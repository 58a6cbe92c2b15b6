from __future__ import annotations

from pathlib import Path

from notify import app, deliver


def test_notify_posts_rendered_message(tmp_path: Path, templates: Path, webhook) -> None:
    url, received = webhook
    cfg = tmp_path / "notify.yaml"
    cfg.write_text(
        f"sender: ops\nchannels:\n  chat:\n    url: {url}/hook\n    template: alert.html\n",
        encoding="utf-8",
    )
    results = app.notify(cfg, templates, {"title": "deploy", "level": "info", "body": "done"})
    assert results == {"chat": 202}
    path, headers, body = received[0]
    assert path == "/hook"
    assert headers["X-Sender"] == "ops"
    assert b'<span class="badge">deploy</span>' in body
    assert headers["X-Body-Digest"] == deliver.digest(body.decode("utf-8"))
    assert deliver.reachable(f"{url}/hook")
