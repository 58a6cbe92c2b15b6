from app import store


def test_round_trip():
    state = {"seen": [1, 2, 3]}
    assert store.load(store.dump(state)) == state
