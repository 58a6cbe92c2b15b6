from __future__ import annotations

import pytest
from notify import config

SAMPLE = """
sender: ops
channels:
  chat:
    url: http://127.0.0.1:9/hook
    template: alert.html
    retries: 2
    retry_on: !!python/tuple [502, 503]
    headers: {X-Token: abc}
"""


def test_parse_reads_channels() -> None:
    cfg = config.parse(SAMPLE)
    assert cfg.sender == "ops"
    assert [c.name for c in cfg.channels] == ["chat"]
    assert cfg.channels[0].retries == 2
    assert cfg.channels[0].retry_on == (502, 503)
    assert cfg.channels[0].headers == {"X-Token": "abc"}


def test_parse_rejects_missing_channels() -> None:
    with pytest.raises(ValueError, match="channels"):
        config.parse("sender: ops\n")
