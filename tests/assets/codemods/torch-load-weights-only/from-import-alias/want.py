from torch import load as load_checkpoint
from torch.serialization import load


def weights(path):
    return load_checkpoint(path, weights_only=True)


def buffers(path):
    return load(path, "cpu", weights_only=True)
