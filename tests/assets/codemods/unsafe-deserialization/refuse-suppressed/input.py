import pickle


def load_model(path):
    # The model file is produced by our own training job and signed; checked by the caller.
    with open(path, "rb") as fh:
        return pickle.load(fh)  # nosec B301


def load_index(blob):
    return pickle.loads(blob)  # noqa: S301


def load_other(blob):
    return pickle.loads(blob)  # noqa: E501
