"""Timing ember against torch on the same workload in one run, and printing the ratio.

Each workload is a function ``make(lib) -> step`` returning a zero-argument callable. The two
libraries' steps run interleaved, several rounds, and the best round counts, so load on a shared
machine affects both sides alike. Only ratios are meaningful across machines.
"""

from __future__ import annotations

import time


def best_time(step, number: int) -> float:
    """Seconds per call of ``step``: the best of the rounds' averages."""
    start = time.perf_counter()
    for _ in range(number):
        step()
    return (time.perf_counter() - start) / number


def autonumber(step, budget: float = 0.05) -> int:
    """How many calls fill about ``budget`` seconds (at least 1)."""
    step()
    t = best_time(step, 1)
    return max(1, int(budget / max(t, 1e-7)))


def compare(workloads, rounds: int = 7, budget: float = 0.05, libs=None):
    """Time every workload under ember and torch; return rows ``(name, torch_s, ember_s)``."""
    import torch

    import ember

    libs = libs or (torch, ember)
    rows = []
    for name, make in workloads:
        steps = [make(lib) for lib in libs]
        numbers = [autonumber(s, budget) for s in steps]
        best = [float("inf")] * len(libs)
        for _ in range(rounds):
            for i, (s, n) in enumerate(zip(steps, numbers)):
                best[i] = min(best[i], best_time(s, n))
        rows.append((name, best[0], best[1]))
    return rows


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:9.2f} us"
    return f"{seconds * 1e3:9.2f} ms"


def print_table(title: str, rows) -> None:
    print(f"\n{title}")
    print(f"{'workload':44s} {'torch':>12s} {'ember':>12s} {'ember/torch':>12s}")
    for name, t_torch, t_ember in rows:
        print(f"{name:44s} {_fmt(t_torch)} {_fmt(t_ember)} {t_ember / t_torch:11.2f}x")
