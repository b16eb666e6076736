"""Seed 000's MNIST network trained data-parallel: one process per rank, started by MPI.

    mpiexec -n 2 python examples/mnist_ddp.py             # 1 epoch; digits as mnist_net.py finds
    EMBER_MNIST_DIR=../shared/data/mnist mpiexec -n 2 python examples/mnist_ddp.py
    python examples/mnist_ddp.py                          # one process works too

The network, optimizer and schedule are examples/mnist_net.py's (Adadelta lr=1.0, StepLR 0.7),
wrapped in ``DistributedDataParallel``. A ``DistributedSampler`` gives every rank its own shard of
the training digits; ``--batch-size`` is the global batch (64, as for one process), split evenly
over the ranks, so that each step averages the gradients of the same number of digits as one
process does and the test accuracy comes out the same. Every rank tests its share of the test
digits; the counts are summed with ``all_reduce`` and rank 0 prints the accuracy.
"""

from __future__ import annotations

import argparse
import time
import warnings

from mnist_data import load_mnist
from mnist_net import Net

import ember
import ember.distributed as dist
import ember.nn.functional as F
import ember.optim as optim
from ember.nn.parallel import DistributedDataParallel
from ember.optim.lr_scheduler import StepLR
from ember.utils.data import DataLoader, DistributedSampler, Subset
from ember.vision import transforms

# mnist_net.Net applies Dropout2d to a 2-D input, as the tutorial does; see mnist_net.py
warnings.filterwarnings("ignore", message="dropout2d: Received a 2-D input", category=UserWarning)


def train(model, train_loader, sampler, optimizer, epoch: int, rank: int) -> None:
    model.train()
    sampler.set_epoch(epoch)  # a new shuffle every epoch, the same one on every rank
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()  # gradients averaged over the ranks here
        optimizer.step()
        if rank == 0 and batch_idx % 40 == 0:
            print(f"Train epoch {epoch} [{batch_idx}/{len(train_loader)}]\tloss (rank 0's "
                  f"shard): {loss.item():.6f}", flush=True)


def test(model, test_set, rank: int, world: int, batch_size: int):
    """(average loss, accuracy) over the whole test set: each rank takes every world-th digit."""
    model.eval()
    shard = Subset(test_set, range(rank, len(test_set), world))
    totals = ember.zeros(2, dtype=ember.float64)  # summed loss, correct predictions
    with ember.no_grad():
        for data, target in DataLoader(shard, batch_size=batch_size):
            output = model(data)
            totals[0] += F.nll_loss(output, target, reduction="sum").item()
            totals[1] += output.argmax(dim=1).eq(target).sum().item()
    dist.all_reduce(totals)
    return totals[0].item() / len(test_set), totals[1].item() / len(test_set)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="ember MNIST, data-parallel over MPI ranks")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="global training batch, split over the ranks (64)")
    parser.add_argument("--test-batch-size", type=int, default=1000, help="test batch (1000)")
    parser.add_argument("--epochs", type=int, default=1, help="number of epochs (1)")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate (1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, help="StepLR's decay per epoch (0.7)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--data", default="./data", help="the MNIST folder (./data)")
    parser.add_argument("--download", action="store_true", help="download MNIST if missing")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many training and test digits (quick runs)")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    """Train and test; returns the test accuracy (the same on every rank)."""
    args = parse_args(argv)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        raise ValueError(f"--batch-size {args.batch_size} must divide by the {world} ranks")

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    train_set, test_set, _ = load_mnist(args.data, args.download and rank == 0, transform,
                                        verbose=rank == 0)
    if args.limit is not None:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
        test_set = Subset(test_set, range(min(args.limit, len(test_set))))
    sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler)

    ember.manual_seed(args.seed)
    model = DistributedDataParallel(Net())  # rank 0's initial weights everywhere
    ember.manual_seed(args.seed + rank)  # each rank its own dropout masks
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    if rank == 0:
        print(f"{world} rank(s), {len(train_loader)} steps per epoch of {args.batch_size // world}"
              f" digits per rank", flush=True)
    accuracy = 0.0
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        train(model, train_loader, sampler, optimizer, epoch, rank)
        test_loss, accuracy = test(model, test_set, rank, world, args.test_batch_size)
        if rank == 0:
            print(f"\nEpoch {epoch}: test set average loss {test_loss:.4f}, accuracy "
                  f"{100.0 * accuracy:.2f}% ({len(test_set)} digits)", flush=True)
        scheduler.step()
    if rank == 0:
        print(f"Training took {time.time() - start:.1f}s on {world} rank(s).")
        print(f"Test accuracy: {100.0 * accuracy:.2f}%", flush=True)
    dist.destroy_process_group()
    return accuracy


if __name__ == "__main__":
    main()
