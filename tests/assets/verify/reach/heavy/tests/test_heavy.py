"""Call-heavy tests: many calls into PyYAML (pure Python) and many calls outside it."""

import yaml

DOC = "\n".join(f"key{i}: [{i}, {i}.5, true, null, 'text {i}']" for i in range(300))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def test_parse_many():
    for _ in range(10):
        data = yaml.load(DOC, Loader=yaml.FullLoader)  # noqa: S506 - the vulnerable loader is the workload
    assert len(data) == 300


def test_pure_python():
    assert fib(24) == 46368
