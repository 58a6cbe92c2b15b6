"""Policy as code: the `.patchpilot.toml` file, the pure `decide` step, ignores and the CI gate.

`load.load_policy` reads and validates a project's policy (or the embedded default,
`default.toml`); `facts.facts_for_remediation` reduces a remediation and its verify evidence to
the plain `Facts` a decision may look at; `decide.decide` grants an autonomy level (1 notify,
2 branch for review, 3 merge) from those facts alone; `ignores.apply_ignores` and `gate.gate`
say which findings a CI run fails on. The schema is documented in `docs/policy.md`.
"""

from __future__ import annotations
