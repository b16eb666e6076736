"""Data-loading throughput: ember's DataLoader vs torch's on MNIST-shaped batches.

    python -m benchmarks.dataloader [--samples N] [--rounds R]

Two datasets of 60000 1x28x28 images with labels, batch size 64, 0 and 2 worker processes:
a ``TensorDataset`` of float images (converted once from uint8) and a map-style dataset that
converts and normalises each uint8 image when it is asked for. One step is one whole epoch,
starting the workers included; the best of interleaved rounds counts.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.harness import compare

BATCH = 64


def _images(n: int):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


class PerSampleWork:
    """MNIST as torchvision serves it: uint8 image -> normalised float tensor, per sample."""

    def __init__(self, lib, images, labels):
        self.lib, self.images, self.labels = lib, images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.lib.from_numpy(self.images[i]).float().div(255).sub(0.1307).div(0.3081)
        return img.unsqueeze(0), int(self.labels[i])


def tensor_dataset(n: int, workers: int):
    images, labels = _images(n)

    def make(lib):
        data = lib.utils.data
        x = lib.from_numpy(images).float().div(255).unsqueeze(1)
        ds = data.TensorDataset(x, lib.from_numpy(labels))
        loader = data.DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers)
        return lambda: sum(1 for _ in loader)
    return make


def per_sample_dataset(n: int, workers: int):
    images, labels = _images(n)

    def make(lib):
        loader = lib.utils.data.DataLoader(PerSampleWork(lib, images, labels), batch_size=BATCH,
                                           shuffle=True, num_workers=workers)
        return lambda: sum(1 for _ in loader)
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import ember.utils.data  # noqa: F401 - until ember/__init__.py imports ember.utils

    n = args.samples
    workloads = [(f"TensorDataset, {w} workers", tensor_dataset(n, w)) for w in (0, 2)]
    workloads += [(f"per-sample uint8->float, {w} workers", per_sample_dataset(n, w))
                  for w in (0, 2)]
    rows = compare(workloads, rounds=args.rounds, budget=0.0)
    print(f"\nDataLoader throughput, {n} MNIST-shaped samples, batch {BATCH} (samples/s, best of "
          f"{args.rounds} interleaved epochs; the ratio is ember's speed over torch's, > 1 when "
          "ember is faster)")
    print(f"{'workload':44s} {'torch':>12s} {'ember':>12s} {'ember/torch':>12s}")
    for name, t_torch, t_ember in rows:
        print(f"{name:44s} {n / t_torch:12.0f} {n / t_ember:12.0f} {t_torch / t_ember:11.2f}x")


if __name__ == "__main__":
    main()
