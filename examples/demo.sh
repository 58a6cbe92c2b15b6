#!/usr/bin/env bash
# The README demo: scan the bundled example against its bundled OSV records, hold it against the
# CI gate, then run the whole loop on a throwaway git copy: fix, verify with the example's own
# tests, let the default policy decide each fix's level, deliver it, and ask the ledger why.
# Fixing resolves with uv against PyPI and verifying builds environments from it; without
# network those steps say so, nothing is merged, and the demo still ends cleanly.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${PATCHPILOT:-$here/../.venv/bin/patchpilot}"
work="$(mktemp -d "${TMPDIR:-/tmp}/patchpilot-demo.XXXXXX")"
db="$work/patchpilot.sqlite3"
pp() { "$bin" --db "$db" "$@"; }

pp db import "$here/advisories" --format table || exit $?
echo
pp scan "$here/webapp" --format table
status=$?
[ "$status" -eq 1 ] || { echo "demo: scan exited $status, expected 1 (findings)" >&2; exit 1; }

echo
echo "== gate: what CI would say under the default policy"
pp gate "$here/webapp" --format table
[ $? -eq 1 ] || { echo "demo: the gate should fail on the example" >&2; exit 1; }

echo
echo "== run: a throwaway git copy of the example in $work/notify"
mkdir -p "$work/notify"
(cd "$here/webapp" && tar --exclude=.venv --exclude=__pycache__ -cf - .) | (cd "$work/notify" && tar -xf -)
git -C "$work/notify" init -q -b main
git -C "$work/notify" add -A
git -C "$work/notify" -c user.name=demo -c user.email=demo@localhost commit -qm "notify 1.4.0"
pp run "$work/notify" --format table --vex-out "$work/notify.openvex.json" \
    || { echo "demo: run failed" >&2; exit 1; }

echo
echo "== the history of main: what the policy merged"
git -C "$work/notify" log --oneline --graph -12
echo
echo "== branches left for review"
git -C "$work/notify" branch --list 'patchpilot/*'

action="$(git -C "$work/notify" log --merges --grep 'fix-urllib3' --format=%B main | grep -o 'act-[0-9a-f]*' | head -1)"
if [ -n "$action" ]; then
    echo
    echo "== explain: why did the bot merge urllib3? (from the ledger alone)"
    pp explain PYSEC-2023-192 --format table
    echo
    echo "== ledger verify: the hash chain is intact"
    pp ledger verify
    echo
    echo "== revert $action: undo the urllib3 merge and reopen its findings"
    pp revert "$action" "$work/notify" --reason "demo: canary error rate up" --actor demo \
        --format table \
        || { echo "demo: revert failed" >&2; exit 1; }
    pp explain "$action" --format table | tail -8
else
    echo "demo: nothing was merged (no network to build the test environments?)" >&2
fi
echo
echo "demo: done (files in $work; OpenVEX of the outcome: $work/notify.openvex.json)"
