"""Load the notifier's YAML configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Channel:
    name: str
    url: str
    template: str
    retries: int = 3
    retry_on: tuple[int, ...] = (502, 503, 504)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    sender: str
    channels: tuple[Channel, ...]


def parse(text: str) -> Config:
    data = yaml.load(text, Loader=yaml.FullLoader)
    if not isinstance(data, dict) or "channels" not in data:
        raise ValueError("config needs a 'channels' mapping")
    channels = tuple(
        Channel(
            name=name,
            url=spec["url"],
            template=spec["template"],
            retries=int(spec.get("retries", 3)),
            retry_on=tuple(spec.get("retry_on", (502, 503, 504))),
            headers=dict(spec.get("headers", {})),
        )
        for name, spec in data["channels"].items()
    )
    return Config(sender=str(data.get("sender", "notify")), channels=channels)


def load(path: Path) -> Config:
    return parse(Path(path).read_text(encoding="utf-8"))
