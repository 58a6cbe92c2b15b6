"""Send one event to every configured channel."""

from __future__ import annotations

from pathlib import Path

from notify import config, deliver, render


def notify(config_path: Path, template_dir: Path, event: dict[str, object]) -> dict[str, int]:
    cfg = config.load(config_path)
    env = render.environment(template_dir)
    results: dict[str, int] = {}
    for channel in cfg.channels:
        body = render.render(env, channel.template, event=event, sender=cfg.sender)
        results[channel.name] = deliver.post(
            channel.url, body, sender=cfg.sender, headers=channel.headers, retries=channel.retries
        )
    return results
