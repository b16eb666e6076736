"""Recurrent training steps: ember vs torch (the sequence-models issue's benchmark).

    python -m benchmarks.rnn

- an LSTM classifier on MNIST rows: ``LSTM(28, 64, batch_first=True)`` + ``Linear(64, 10)`` on the
  last step, batch 64, cross-entropy, Adam (goal: within 1.5x torch);
- seed 002's sin -> cos regressor: ``RNN(1, 32, batch_first=True)`` + ``Linear(32, 1)`` per time
  step, 10 steps, batch 1, hidden state carried (detached) between windows, MSE, Adam lr 0.02
  (goal: within 3x torch).
"""

from __future__ import annotations

import numpy as np

from benchmarks.harness import compare, print_table


def lstm_mnist_rows(lib):
    nn = lib.nn
    lib.manual_seed(0)
    lstm, head = nn.LSTM(28, 64, batch_first=True), nn.Linear(64, 10)
    opt = lib.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.random((64, 28, 28), dtype=np.float32))
    y = lib.from_numpy(rng.integers(0, 10, 64))

    def step():
        out, _ = lstm(x)
        loss = loss_fn(head(out[:, -1, :]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def lstm_mnist_rows_eval(lib):
    nn = lib.nn
    lib.manual_seed(0)
    lstm, head = nn.LSTM(28, 64, batch_first=True), nn.Linear(64, 10)
    x = lib.from_numpy(np.random.default_rng(0).random((2000, 28, 28), dtype=np.float32))

    def step():
        with lib.no_grad():
            out, _ = lstm(x)
            head(out[:, -1, :])
    return step


def rnn_sin_cos(lib):
    nn = lib.nn
    lib.manual_seed(1)
    rnn, head = nn.RNN(1, 32, batch_first=True), nn.Linear(32, 1)
    opt = lib.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.02)
    loss_fn = nn.MSELoss()
    state = {"h": None, "step": 0}

    def step():
        k = state["step"]
        steps = np.linspace(k * np.pi, (k + 1) * np.pi, 10, dtype=np.float32, endpoint=False)
        x = lib.from_numpy(np.sin(steps)[np.newaxis, :, np.newaxis])
        y = lib.from_numpy(np.cos(steps)[np.newaxis, :, np.newaxis])
        r_out, h = rnn(x, state["h"])
        pred = lib.stack([head(r_out[:, t, :]) for t in range(r_out.size(1))], dim=1)
        state["h"], state["step"] = h.data, k + 1
        loss = loss_fn(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


WORKLOADS = [
    ("LSTM(28,64) MNIST rows train step, batch 64", lstm_mnist_rows),
    ("LSTM(28,64) MNIST rows forward, 2000 (no_grad)", lstm_mnist_rows_eval),
    ("RNN(1,32) sin->cos train step, seq 10", rnn_sin_cos),
]


def main() -> None:
    print_table("recurrent training steps (best of interleaved rounds)", compare(WORKLOADS))


if __name__ == "__main__":
    main()
