"""API diffs of real releases from PyPI: griffe's findings converted to `ApiBreak`s, the extra
pass for re-exported names griffe does not follow, alias resolution, and the on-disk cache."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from patchpilot.errors import BreakingError
from patchpilot.planning.breaking.apidiff import ApiBreak, ApiDiff, BreakKind, diff

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _find(result: ApiDiff, path: str, param: str | None = None) -> list[ApiBreak]:
    return [b for b in result.breaks if b.path == path and b.param == param]


def test_pyyaml_6_makes_loader_required(brk_cache: Path) -> None:
    result = diff("PyYAML", "5.4", "6.0", brk_cache)
    assert "yaml" in result.packages
    (load,) = _find(result, "yaml.load", "Loader")
    assert load.kind is BreakKind.PARAMETER_BECAME_REQUIRED
    assert (load.old_position, load.new_position, load.bound) == (1, 1, False)
    assert "6.0" in load.detail
    # Names a wildcard import brought in stay known (`from .loader import *`).
    assert "yaml.SafeLoader" in result.old_names
    assert "yaml.SafeLoader" in result.new_names
    assert not _find(result, "yaml.safe_load", "Loader")


def test_jinja2_3_drops_reexported_markup_and_helpers(brk_cache: Path) -> None:
    result = diff("Jinja2", "2.11.3", "3.1.4", brk_cache)
    by_path = {b.path: b for b in result.breaks if b.param is None}
    # Re-exported from markupsafe: griffe's own finder does not report these.
    assert by_path["jinja2.Markup"].kind.is_removal
    assert by_path["jinja2.escape"].kind.is_removal
    assert by_path["jinja2.contextfunction"].kind is BreakKind.REMOVED_FUNCTION
    assert by_path["jinja2.utils.contextfunction"].kind is BreakKind.REMOVED_FUNCTION
    assert by_path["jinja2.asyncsupport"].kind is BreakKind.REMOVED_MODULE
    # Still there in 3.1: not reported.
    assert "jinja2.Environment" not in by_path
    assert "jinja2.select_autoescape" not in by_path
    assert result.resolve("jinja2.Environment") == "jinja2.environment.Environment"
    # `extract_from_ast(node, …)` became `extract_from_ast(ast, …)`: a rename at position 0.
    (renamed,) = _find(result, "jinja2.ext.extract_from_ast", "node")
    assert renamed.kind is BreakKind.RENAMED_PARAMETER
    assert "ast" in renamed.detail


def test_urllib3_2_removes_method_whitelist(brk_cache: Path) -> None:
    result = diff("urllib3", "1.26.19", "2.2.2", brk_cache)
    (removed,) = _find(result, "urllib3.util.retry.Retry.__init__", "method_whitelist")
    assert removed.kind is BreakKind.REMOVED_PARAMETER
    assert removed.bound is True
    assert removed.old_position is not None and removed.new_position is None
    assert result.resolve("urllib3.Retry") == "urllib3.util.retry.Retry"
    assert result.resolve("urllib3.util.Retry.__init__") == "urllib3.util.retry.Retry.__init__"


def test_second_run_reads_the_cache(brk_cache: Path) -> None:
    first = diff("Jinja2", "2.11.3", "3.1.4", brk_cache)
    start = time.perf_counter()
    second = diff("jinja2", "2.11.3", "3.1.4", brk_cache)
    assert time.perf_counter() - start < 1.0
    assert second == first
    cached = brk_cache / "apidiff" / "jinja2--2.11.3--3.1.4.json"
    data = json.loads(cached.read_text(encoding="utf-8"))
    assert len(data["breaks"]) == len(first.breaks)


def test_corrupt_cache_is_recomputed(brk_cache: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    # Reuse the session's downloads; only the diff cache is private to this test.
    cache.mkdir()
    (cache / "dists").symlink_to(brk_cache / "dists", target_is_directory=True)
    (cache / "apidiff").mkdir()
    (cache / "apidiff" / "pyyaml--5.4--6.0.json").write_text("{not json", encoding="utf-8")
    result = diff("PyYAML", "5.4", "6.0", cache)
    assert _find(result, "yaml.load", "Loader")
    assert json.loads((cache / "apidiff" / "pyyaml--5.4--6.0.json").read_text())["breaks"]


def test_missing_release_is_a_breaking_error(brk_cache: Path) -> None:
    with pytest.raises(BreakingError, match=r"PyYAML 0\.0\.0\.999"):
        diff("PyYAML", "5.4", "0.0.0.999", brk_cache)
