"""Known-pattern code fixes: libcst codemods, their guards and the engine that runs them.

`interface.py` is the seam (and explains how to write a codemod), `engine.py` runs the
registered codemods (`registry.py`) over a project with post-conditions, `sarif_targets.py`
narrows them to findings of Bandit, Semgrep or Ruff, and `docs/` holds each codemod's
Markdown explanation (the PR text).
"""
