import tempfile


def dump(rows):
    name = tempfile.mktemp(suffix=".csv")
    with open(name, "w", encoding="utf-8") as out:
        out.writelines(rows)
    return name
