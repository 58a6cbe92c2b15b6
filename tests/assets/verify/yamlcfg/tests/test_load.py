from yamlcfg import dump, settings


def test_settings_reads_mapping():
    assert settings("a: 1\nb: [x, y]\n") == {"a": 1, "b": ["x", "y"]}


def test_dump_round_trips():
    assert dump({"b": 2, "a": 1}) == "a: 1\nb: 2\n"
