from app.money import Money


def test_repr_round_trips():
    value = Money(3, "EUR")
    assert eval(repr(value)) == value
