#!/usr/bin/env bash
# The README demo: scan the bundled example against its bundled OSV records, then plan, fix and
# verify it on a throwaway git copy (fixing resolves with uv against PyPI; without network it
# says so and the demo still ends cleanly).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PATCHPILOT:-$here/../.venv/bin/patchpilot}"
work="$(mktemp -d "${TMPDIR:-/tmp}/patchpilot-demo.XXXXXX")"
db="$work/advisories.sqlite3"

"$bin" --db "$db" db import "$here/advisories" --format table || exit $?
echo
"$bin" --db "$db" scan "$here/webapp" --format table
status=$?
[ "$status" -eq 1 ] || { echo "demo: scan exited $status, expected 1 (findings)" >&2; exit 1; }

echo
echo "== fix: a throwaway git copy of the example in $work/notify"
mkdir -p "$work/notify"
(cd "$here/webapp" && tar --exclude=.venv --exclude=__pycache__ -cf - .) | (cd "$work/notify" && tar -xf -)
git -C "$work/notify" init -q -b main
git -C "$work/notify" add -A
git -C "$work/notify" -c user.name=demo -c user.email=demo@localhost commit -qm "notify 1.4.0"
if "$bin" --db "$db" fix "$work/notify" --upgrade-config minor --format table; then
    branch="$(git -C "$work/notify" branch --list 'patchpilot/*' --format='%(refname:short)' | head -1)"
    echo
    echo "== the branch $branch, re-scanned"
    git -C "$work/notify" worktree add -q "$work/branch" "$branch"
    "$bin" --db "$db" scan "$work/branch" --format table
    git -C "$work/notify" log -1 --format=%B "$branch" | head -40
    echo
    echo "== verify: the project's tests before and after, and whether they reach the fixed code"
    "$bin" --db "$db" verify "$work/notify" --branch "$branch" --format table
else
    echo "demo: the fix step needs PyPI (uv resolves against it); skipped" >&2
fi
echo
echo "demo: done (files in $work)"
