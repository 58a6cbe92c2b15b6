import torch


def load(*load_args):
    return torch.load(*load_args)
