"""Training steps of the tutorials' models: ember vs torch in one run, ratio printed.

    python -m benchmarks.models            # all workloads
    python -m benchmarks.models vgg lenet  # those whose name contains a word

One step = zero_grad, forward, loss, backward, optimizer step, on the same random batch for both
libraries (the same model code, written once against the torch API).
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks.harness import compare, print_table


def _batch(shape, classes=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    y = None if classes is None else rng.integers(0, classes, size=shape[0]).astype(np.int64)
    return x, y


def mnist_net(lib):
    """The seed 000 / PyTorch-examples MNIST Net."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout2d(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def lenet(lib):
    """Seed 001's LeNet."""
    nn, F = lib.nn, lib.nn.functional

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return LeNet()


def seed002_cnn(lib):
    """Seed 002's Sequential-block CNN."""
    nn = lib.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            # as the seed prints it: conv1 has stride 2 (28 -> 14 -> pooled 7), conv2 no pooling
            self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 5, 2, 2), nn.ReLU(), nn.MaxPool2d(2))
            self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), nn.ReLU())
            self.out = nn.Linear(32 * 7 * 7, 10)

        def forward(self, x):
            x = self.conv2(self.conv1(x))
            return self.out(x.view(x.size(0), -1))

    return CNN()


def vgg11_bn(lib):
    """VGG-11 with BatchNorm for 3x32x32 inputs (configuration 'A', one Linear classifier)."""
    nn = lib.nn
    layers, c = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))


def bn_classifier(lib):
    """Seed 003's BatchNorm1d classifier."""
    nn = lib.nn
    return nn.Sequential(nn.Linear(2, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 2),
                         nn.Softmax(dim=1))


def _train_step(lib, model, optimizer, x, target, loss_fn):
    xt, tt = lib.from_numpy(x), lib.from_numpy(target)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(xt), tt)
        loss.backward()
        optimizer.step()
    return step


def w_mnist_net(lib):
    lib.manual_seed(0)
    model = mnist_net(lib)
    x, y = _batch((64, 1, 28, 28), 10)
    return _train_step(lib, model, lib.optim.Adadelta(model.parameters(), lr=1.0), x, y,
                       lib.nn.functional.nll_loss)


def w_lenet(lib):
    lib.manual_seed(0)
    model = lenet(lib)
    x, _ = _batch((32, 1, 32, 32))
    target = np.tile(np.arange(10, dtype=np.float32), (32, 1))
    return _train_step(lib, model, lib.optim.SGD(model.parameters(), lr=0.01), x, target,
                       lib.nn.MSELoss())


def w_seed002_cnn(lib):
    lib.manual_seed(0)
    model = seed002_cnn(lib)
    x, y = _batch((50, 1, 28, 28), 10)
    return _train_step(lib, model, lib.optim.Adam(model.parameters(), lr=1e-3), x, y,
                       lib.nn.CrossEntropyLoss())


def w_vgg11_bn(lib):
    lib.manual_seed(0)
    model = vgg11_bn(lib)
    x, y = _batch((32, 3, 32, 32), 10)
    return _train_step(lib, model, lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
                       x, y, lib.nn.CrossEntropyLoss())


def w_bn_classifier(lib):
    lib.manual_seed(0)
    model = bn_classifier(lib)
    x, y = _batch((1000, 2), 2)
    return _train_step(lib, model, lib.optim.RMSprop(model.parameters(), lr=1e-3), x, y,
                       lib.nn.CrossEntropyLoss())


def w_mnist_inference(lib):
    lib.manual_seed(0)
    model = mnist_net(lib).eval()
    x = lib.from_numpy(_batch((1000, 1, 28, 28))[0])

    def step():
        with lib.no_grad():
            model(x)
    return step


WORKLOADS = [
    ("seed 000 MNIST net, batch 64, Adadelta", w_mnist_net),
    ("LeNet, batch 32, MSE, SGD", w_lenet),
    ("seed 002 CNN, batch 50, Adam", w_seed002_cnn),
    ("VGG-11-BN 3x32x32, batch 32, SGD momentum", w_vgg11_bn),
    ("seed 003 BatchNorm classifier, batch 1000, RMSprop", w_bn_classifier),
    ("seed 000 MNIST net inference, batch 1000, no_grad", w_mnist_inference),
]


def main(words) -> None:
    chosen = [w for w in WORKLOADS if not words or any(k.lower() in w[0].lower() for k in words)]
    print_table("training steps of the tutorials' models", compare(chosen, rounds=3, budget=0.3))


if __name__ == "__main__":
    main(sys.argv[1:])
