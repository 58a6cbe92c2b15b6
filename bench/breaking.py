"""Benchmark of breaking-change detection for one package pair: cold and cached.

Cold is download + unpack + griffe load + diff + call-site scan, in an empty cache; cached is
the same `assess` call again on the warm cache (the API diff is read from its JSON file).
Usage: `python bench/breaking.py [NAME OLD NEW]` (default Jinja2 2.11.3 → 3.1.4). Numbers are
printed, not asserted.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from patchpilot.planning.breaking.verdict import assess

PROJECT = """\
from jinja2 import Environment, Markup

env = Environment()
page = Markup("<b>%s</b>") % "x"
"""


def main(argv: list[str]) -> int:
    name, old, new = argv[1:4] if len(argv) >= 4 else ("Jinja2", "2.11.3", "3.1.4")
    with tempfile.TemporaryDirectory(prefix="bench-breaking-") as scratch:
        root = Path(scratch)
        project = root / "project"
        project.mkdir()
        (project / "app.py").write_text(PROJECT, encoding="utf-8")
        cache = root / "cache"
        start = time.perf_counter()
        cold = assess(project, name, old, new, cache_dir=cache)
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = assess(project, name, old, new, cache_dir=cache)
        warm_s = time.perf_counter() - start
    print(f"{name} {old} -> {new}: {len(cold.breaks)} API breaks, verdict {cold.verdict}")
    for site in cold.sites:
        print(f"  {site.message}")
    print(f"cold   (download + parse + diff + scan): {cold_s:6.2f} s  (target < 15 s)")
    print(f"cached (diff from cache + scan):         {warm_s:6.2f} s  (target < 1 s)")
    return 0 if warm.verdict == cold.verdict else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
