import torch


def load(path, **load_options):
    return torch.load(path, **load_options)
