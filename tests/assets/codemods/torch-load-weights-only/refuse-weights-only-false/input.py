import torch


def load_full_model(path):
    # The checkpoint pickles the whole nn.Module, so full unpickling is needed.
    return torch.load(path, weights_only=False)
