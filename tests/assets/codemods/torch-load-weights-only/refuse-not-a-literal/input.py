import torch


def load(path, config):
    return torch.load(path, weights_only=config.trusted_checkpoints)
