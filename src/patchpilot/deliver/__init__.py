"""Delivery: fix branches made in separate git worktrees, and the pull-request text for them.

`git` wraps the real git command line (never a re-implementation) and owns the promise that a
fix never touches the user's working tree, index or current branch; `prbody` renders what a
branch changed, every package delta included, as Markdown for a pull request.
"""
