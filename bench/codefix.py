"""Benchmark of Level 4: the codemod engine over large real codebases, and the nginx
configuration mitigations, printed rather than asserted.

Codemods: each package tree (default: pip, setuptools and libcst as installed in this
virtualenv, vendored code included) is copied to a temporary directory, with a
`pyproject.toml` whose `requires-python` is the one the package's own metadata declares, and
`run_codemods` runs over it with every registered codemod, in a fresh child process (peak RSS
its own). Reported: `.py` files in the tree and files the engine walked (it skips
`build/`-like directories), files at least one codemod's prefilter (`Codemod.relevant`)
accepted, changes and refusals (by reason), wall time, time per file (all walked files, and
the accepted ones: median, 95th percentile, slowest), the time spent in the ruff post-condition
subprocesses, and peak RSS. libcst is imported before the clock starts (its import time is
printed apart). The site-packages originals are never touched.

nginx: `run_config_mitigations` on each case of tests/assets/config/nginx/cases (copied, with
the throwaway certificates its tests make), in one child process: wall time per case and the
time of every `nginx -t` validation. Skipped, with the reason, when nginx is not installed.

Usage: python bench/codefix.py [--package NAME ...] [--no-nginx]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
NGINX_CASES = ROOT / "tests" / "assets" / "config" / "nginx" / "cases"
DEFAULT_PACKAGES = ("pip", "setuptools", "libcst")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[..., Any], into: list[tuple[float, Any]]) -> Callable[..., Any]:
    """`fn`, appending (seconds, first argument after the first) to `into` on every call."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append((time.perf_counter() - start, args[1] if len(args) > 1 else None))

    return wrapper


# --- codemods ---------------------------------------------------------------------------------


def child_codemods(root: str) -> dict[str, Any]:
    start = time.perf_counter()
    import libcst  # noqa: F401 - imported here so its import time is not the first file's

    libcst_import = time.perf_counter() - start
    from patchpilot.fixers.codemods import engine
    from patchpilot.fixers.codemods.interface import FileContext, ProjectContext

    per_file: list[tuple[float, Any]] = []
    ruff_calls: list[tuple[float, Any]] = []
    engine._fix_file = timed(engine._fix_file, per_file)
    # The ruff post-condition runs through subprocess.run (no other subprocess runs here).
    subprocess.run = timed(subprocess.run, ruff_calls)
    tree = Path(root)
    start = time.perf_counter()
    result = engine.run_codemods(tree)
    wall = time.perf_counter() - start
    rss = peak_mib()

    # The prefilter on its own, after the run: which files any codemod would parse.
    project = ProjectContext.load(tree)
    accepted: set[str] = set()
    by_codemod: Counter[str] = Counter()
    for rel in project.python_files():
        try:
            source = (tree / rel).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        file = FileContext.build(tree, rel, source)
        for codemod in result.codemods:
            if codemod.relevant(file):
                accepted.add(rel)
                by_codemod[codemod.id] += 1
    accepted_times = sorted(t for t, rel in per_file if rel in accepted)
    slowest = max(per_file, key=lambda tr: tr[0]) if per_file else (0.0, None)
    return {
        "py_files": sum(1 for p in tree.rglob("*.py") if "__pycache__" not in p.parts),
        "scanned": result.files_scanned,
        "accepted": len(accepted),
        "pairs": sum(by_codemod.values()),
        "by_codemod": dict(by_codemod),
        "changes": len(result.changes),
        "changed_files": len(result.changeset.edits),
        "refusals": len(result.refusals),
        "reasons": dict(Counter(r.reason for r in result.refusals).most_common()),
        "counts": {
            k: [v.changes, v.refusals] for k, v in result.counts.items() if v.changes or v.refusals
        },
        "wall": wall,
        "libcst_import": libcst_import,
        "file_total": sum(t for t, _ in per_file),
        "accepted_median": statistics.median(accepted_times) if accepted_times else 0.0,
        "accepted_p95": accepted_times[int(0.95 * (len(accepted_times) - 1))]
        if accepted_times
        else 0.0,
        "slowest": [slowest[0], slowest[1]],
        "ruff_calls": len(ruff_calls),
        "ruff_seconds": sum(t for t, _ in ruff_calls),
        "rss": rss,
    }


def package_tree(name: str, dest: Path) -> Path:
    """A copy of the installed package `name` as a project of its own under `dest`."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name}: not an installed package in {sys.prefix}")
    source = Path(next(iter(spec.submodule_search_locations)))
    project = dest / name
    shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    meta = importlib.metadata.metadata(name)
    requires = (meta.get_all("Requires-Python") or [""])[0]
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{meta["Version"]}"\n'
        f'requires-python = "{requires}"\n',
        encoding="utf-8",
    )
    return project


def bench_codemods(packages: Sequence[str], scratch: Path) -> None:
    for name in packages:
        project = package_tree(name, scratch)
        version = importlib.metadata.version(name)
        r = child("codemods", str(project))
        per_scanned = r["wall"] / r["scanned"] * 1000 if r["scanned"] else 0.0
        print(f"codefix {name} {version}: {r['py_files']} .py files, {r['scanned']} walked, "
              f"{r['accepted']} accepted by a prefilter ({r['pairs']} file-codemod pairs), "
              f"{r['changes']} changes in {r['changed_files']} files, "
              f"{r['refusals']} refusals")  # fmt: skip
        print(f"        wall {r['wall']:.2f} s (+ libcst import {r['libcst_import']:.2f} s), "
              f"{per_scanned:.1f} ms per walked file; accepted files median "
              f"{r['accepted_median'] * 1000:.0f} ms, p95 {r['accepted_p95'] * 1000:.0f} ms, "
              f"slowest {r['slowest'][0]:.2f} s ({r['slowest'][1]})")  # fmt: skip
        print(f"        ruff post-condition: {r['ruff_calls']} runs, {r['ruff_seconds']:.2f} s; "
              f"peak RSS {r['rss']:.1f} MiB")  # fmt: skip
        prefilter = ", ".join(f"{k} {v}" for k, v in sorted(r["by_codemod"].items()))
        print(f"        prefilter accepted: {prefilter or 'nothing'}")
        counts = ", ".join(f"{k} {c}/{x}" for k, (c, x) in sorted(r["counts"].items()))
        print(f"        changes/refusals per codemod: {counts or 'none'}")
        reasons = ", ".join(f"{k} {v}" for k, v in r["reasons"].items())
        print(f"        refusal reasons: {reasons or 'none'}")


# --- nginx ------------------------------------------------------------------------------------


def nginx_project(case: str, dest: Path) -> Path:
    """The case's project, as tests/fixers/test_fx_config_nginx.py prepares it."""
    root = dest / case / "project"
    shutil.copytree(NGINX_CASES / case / "project", root, symlinks=True)
    (root / "certs").mkdir(exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=example.com",
         "-keyout", str(root / "certs" / "site.key"), "-out", str(root / "certs" / "site.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    outside = NGINX_CASES / case / "outside"
    if outside.is_dir():
        shared = dest / case / "outside"
        shared.mkdir()
        shutil.copy(outside / "ssl-params.conf", shared / "ssl-params.conf")
        for site in root.rglob("*"):
            if site.is_file() and not site.is_symlink():
                text = site.read_text(encoding="utf-8")
                if "__OUTSIDE__" in text:
                    site.write_text(text.replace("__OUTSIDE__", str(shared)), encoding="utf-8")
    return root


def child_nginx(*roots: str) -> dict[str, Any]:
    from patchpilot.fixers.config import nginx, run_config_mitigations

    out: dict[str, Any] = {}
    for root in roots:
        checks: list[tuple[float, Any]] = []
        original = nginx._run_nginx
        nginx._run_nginx = timed(original, checks)
        start = time.perf_counter()
        result = run_config_mitigations(root)
        wall = time.perf_counter() - start
        nginx._run_nginx = original
        out[root] = {
            "wall": wall,
            "checks": [t for t, _ in checks],
            "changes": len(result.changes),
            "refusals": sorted({r.reason.value for r in result.refusals}),
        }
    out["rss"] = peak_mib()
    return out


def bench_nginx(scratch: Path) -> None:
    from patchpilot.fixers.config.nginx import find_nginx

    binary = find_nginx(None)
    if binary is None:
        print("nginx   skipped: nginx is not installed (Debian: apt-get install nginx)")
        return
    if shutil.which("openssl") is None:
        print("nginx   skipped: the openssl command is needed for the test certificates")
        return
    version = subprocess.run([str(binary), "-v"], capture_output=True, text=True, check=False)
    cases = sorted(p.name for p in NGINX_CASES.iterdir() if (p / "project").is_dir())
    roots = {case: str(nginx_project(case, scratch / "nginx")) for case in cases}
    r = child("nginx", *roots.values())
    every: list[float] = []
    where = NGINX_CASES.relative_to(ROOT)
    print(f"nginx   {version.stderr.strip()}: {len(cases)} cases of {where}")
    for case, root in roots.items():
        c = r[root]
        every += c["checks"]
        runs = ", ".join(f"{t * 1000:.0f} ms" for t in c["checks"]) or "none"
        refused = ", ".join(c["refusals"]) or "none"
        print(f"        {case:<14} {c['wall'] * 1000:5.0f} ms, nginx -t runs: {runs}; "
              f"{c['changes']} changes, refusals: {refused}")  # fmt: skip
    if every:
        print(f"        nginx -t: {len(every)} validations, median "
              f"{statistics.median(every) * 1000:.0f} ms, max {max(every) * 1000:.0f} ms; "
              f"peak RSS {r['rss']:.1f} MiB")  # fmt: skip


# --- driver -----------------------------------------------------------------------------------

CHILDREN: dict[str, Callable[[list[str]], dict[str, Any]]] = {
    "codemods": lambda a: child_codemods(a[0]),
    "nginx": lambda a: child_nginx(*a),
}


def child(step: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE), "--child", step, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{step} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](list(argv[2:]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", action="append", dest="packages", metavar="NAME")
    ap.add_argument("--no-nginx", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-codefix-") as tmp:
        scratch = Path(tmp)
        bench_codemods(args.packages or DEFAULT_PACKAGES, scratch)
        if args.no_nginx:
            print("nginx   skipped: --no-nginx")
        else:
            bench_nginx(scratch)


if __name__ == "__main__":
    main(sys.argv[1:])
