"""Fixers: the editors that turn a remediation into a `ChangeSet`, and the writing step.

Every fixer returns a `changeset.ChangeSet` (file edits plus every package delta they imply)
and writes nothing itself; `changeset.write_changeset` is the one step that touches files and
it honours `--dry-run`. `deltas` compares two readings of a lockfile into package deltas.
"""
