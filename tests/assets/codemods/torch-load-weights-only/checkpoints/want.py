"""Resume training from the last checkpoint."""

import torch
import torch.serialization
from torch import nn


def restore(model: nn.Module, optimizer: torch.optim.Optimizer, path: str) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return int(checkpoint["epoch"])


def load_tensor(path: str) -> torch.Tensor:
    return torch.load(path, weights_only=True)


def load_weights(model: nn.Module, path: str) -> None:
    model.load_state_dict(torch.load(path, weights_only=True))


def load_embeddings(path: str) -> torch.Tensor:
    # Large tables are memory-mapped rather than read.
    return torch.serialization.load(
        path,
        map_location="cpu",  # no GPU on the indexer
        mmap=True,
        weights_only=True,
    )

