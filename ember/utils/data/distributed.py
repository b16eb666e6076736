"""``DistributedSampler``, as ``torch.utils.data.distributed``: a process's share of the data."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ember.ops.random import Generator, randperm
from ember.utils.data.sampler import Sampler

__all__ = ["DistributedSampler"]


def _world(what: str) -> int:
    """The default process group's world size or rank, as ``torch.distributed`` gives them."""
    try:
        import ember.distributed as dist
    except ImportError:
        raise RuntimeError("Requires distributed package to be available") from None
    if not dist.is_available():
        raise RuntimeError("Requires distributed package to be available")
    return dist.get_world_size() if what == "world_size" else dist.get_rank()


class DistributedSampler(Sampler):
    """The indices for replica ``rank`` of ``num_replicas``: every ``num_replicas``-th index of
    one shared order, padded (by repeating from the start) or truncated (``drop_last``) so that
    every replica gets the same number, as in PyTorch.

    Args:
        dataset: the dataset to sample from.
        num_replicas: number of processes (default: the process group's world size).
        rank: this process's rank (default: its rank in the process group).
        shuffle: shuffle the order with a generator seeded ``seed + epoch`` (default True).
        seed: the shuffling seed, identical in every process (default 0).
        drop_last: drop the tail instead of padding (default False).

    Call ``set_epoch(epoch)`` before each epoch so that the order changes between epochs. The
    order for a seed is ember's own, not the one torch gives.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _world("world_size")
        if rank is None:
            rank = _world("rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas)
                                         / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator:
        if self.shuffle:
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"Number of indices ({len(indices)}) does not match total_size "
                                 f"({self.total_size})")
        indices = indices[self.rank:self.total_size:self.num_replicas]
        if len(indices) != self.num_samples:
            raise AssertionError(f"Number of subsampled indices ({len(indices)}) does not match "
                                 f"num_samples ({self.num_samples})")
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which (with ``seed``) fixes the next iteration's shuffled order."""
        self.epoch = epoch
