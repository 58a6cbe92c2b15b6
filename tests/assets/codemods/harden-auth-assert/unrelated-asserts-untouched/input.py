def mean(values):
    assert values, "no values"
    assert len(values) < 10_000
    return sum(values) / len(values)
