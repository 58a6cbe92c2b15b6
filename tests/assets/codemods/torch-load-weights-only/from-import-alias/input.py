from torch import load as load_checkpoint
from torch.serialization import load


def weights(path):
    return load_checkpoint(path)


def buffers(path):
    return load(path, "cpu")
