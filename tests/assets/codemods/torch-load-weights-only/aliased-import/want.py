import torch as th


def load_model(path):
    state = th.load(path, map_location=th.device("cpu"), weights_only=True)
    return state
