from app import config


def test_loads_python_tuple():
    assert config.load("!!python/tuple [1, 2]") == (1, 2)


def test_loads_plain_mapping():
    assert config.load("retries: 3") == {"retries": 3}


def test_unrelated_arithmetic():
    assert sum(range(5)) == 10
