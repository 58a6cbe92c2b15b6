import dill
import torch


def load_with_dill(path):
    return torch.load(path, pickle_module=dill)


def load_with_dill_positional(path):
    return torch.load(path, "cpu", dill)
