"""The small projects here have test suites of their own, run in their own environments by
tests/verify; patchpilot's suite must not collect them."""

collect_ignore_glob = ["*"]
