"""Checkpoints cross between torch and ember both ways: state_dicts of real networks (an MNIST net,
a VGG, an LSTM), Adam state produced by real torch, resumed training, every dtype, shared views,
the legacy format, and torch's own whole-model pickles."""

import collections
import io
import pickle

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.serialization import load, save

torch.manual_seed(0)


def torch_bytes(obj, **kwargs) -> io.BytesIO:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    buf.seek(0)
    return buf


def ember_bytes(obj, **kwargs) -> io.BytesIO:
    buf = io.BytesIO()
    save(obj, buf, **kwargs)
    buf.seek(0)
    return buf


def as_numpy(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
    t = t.detach()
    return t.float().numpy() if t.dtype is ember.bfloat16 else t.numpy()


def assert_same_state(e, t):
    """ember state ``e`` equals torch state ``t``: keys in order, types, dtypes, values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), type(e)
        assert e.dtype.name == str(t.dtype).split(".")[1] and tuple(e.shape) == tuple(t.shape)
        assert e.stride() == t.stride() and e.requires_grad == t.requires_grad
        np.testing.assert_array_equal(as_numpy(e), as_numpy(t))
        assert isinstance(e, nn.Parameter) == isinstance(t, torch.nn.Parameter)
    elif isinstance(t, dict):
        assert type(e).__name__ == type(t).__name__ and list(e) == list(t)
        if hasattr(t, "_metadata"):
            assert e._metadata == t._metadata
        for k in t:
            assert_same_state(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t):
            assert_same_state(a, b)
    else:
        assert e == t and type(e) is type(t), (e, t)


class TorchMnistNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3, 1)
        self.conv2 = torch.nn.Conv2d(32, 64, 3, 1)
        self.fc1 = torch.nn.Linear(9216, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        x = torch.flatten(torch.max_pool2d(x, 2), 1)
        return self.fc2(torch.relu(self.fc1(x)))


class EmberMnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = ember.relu(self.conv2(ember.relu(self.conv1(x))))
        x = ember.flatten(nn.functional.max_pool2d(x, 2), 1)
        return self.fc2(ember.relu(self.fc1(x)))


def torch_vgg():
    layers, c = [], 3
    for v in (8, "M", 16, 16, "M"):
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            layers += [torch.nn.Conv2d(c, v, 3, padding=1), torch.nn.BatchNorm2d(v),
                       torch.nn.ReLU(inplace=True)]
            c = v
    model = torch.nn.Sequential(torch.nn.Sequential(*layers), torch.nn.Flatten(),
                                torch.nn.Linear(16 * 2 * 2, 10))
    model.train()
    model(torch.randn(4, 3, 8, 8))  # running statistics and num_batches_tracked move
    return model


def test_mnist_net_torch_to_ember_and_back():
    tnet = TorchMnistNet()
    sd = tnet.state_dict()
    loaded = load(torch_bytes(sd))
    assert_same_state(loaded, sd)
    enet = EmberMnistNet()
    result = enet.load_state_dict(loaded)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = tnet(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        np.testing.assert_allclose(enet(ember.from_numpy(x)).numpy(), expected, rtol=1e-4,
                                   atol=1e-5)
    # and back: torch loads ember's file with weights_only=True into a fresh torch net
    back = torch.load(ember_bytes(enet.state_dict()), weights_only=True)
    assert_same_state(loaded, back)
    fresh = TorchMnistNet()
    fresh.load_state_dict(back)
    with torch.no_grad():
        np.testing.assert_array_equal(fresh(torch.from_numpy(x)).numpy(), expected)


def test_vgg_state_dict_both_ways():
    sd = torch_vgg().state_dict()
    assert sd["0.1.num_batches_tracked"].dtype == torch.int64
    loaded = load(torch_bytes(sd))
    assert_same_state(loaded, sd)
    assert loaded["0.1.num_batches_tracked"].item() == 1
    assert_same_state(loaded, torch.load(ember_bytes(loaded), weights_only=True))


@pytest.mark.parametrize("kwargs", [dict(num_layers=2), dict(num_layers=1, bidirectional=True,
                                                             proj_size=5)])
def test_lstm_state_dict_both_ways(kwargs):
    lstm = torch.nn.LSTM(10, 20, batch_first=True, **kwargs)
    sd = lstm.state_dict()
    loaded = load(torch_bytes(sd))
    assert_same_state(loaded, sd)
    back = torch.load(ember_bytes(loaded), weights_only=True)
    fresh = torch.nn.LSTM(10, 20, batch_first=True, **kwargs)
    fresh.load_state_dict(back)
    x = torch.randn(2, 3, 10)
    torch.testing.assert_close(fresh(x)[0], lstm(x)[0], rtol=0, atol=0)


def torch_adam_checkpoint(steps=3):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)
    x = torch.randn(16, 4)
    for _ in range(steps):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    return model, opt, x


def ember_twin():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def test_adam_state_from_torch():
    model, opt, _ = torch_adam_checkpoint()
    sd = opt.state_dict()
    loaded = load(torch_bytes(sd))
    assert_same_state(loaded, sd)
    assert loaded["state"][0]["step"].shape == () and loaded["state"][0]["step"].item() == 3.0


def test_training_resumes_across_frameworks():
    """torch trains 3 Adam steps and saves; ember resumes; one more step matches torch's."""
    tmodel, topt, x = torch_adam_checkpoint()
    ckpt = load(torch_bytes({"model": tmodel.state_dict(), "opt": topt.state_dict(), "step": 3}))
    emodel = ember_twin()
    emodel.load_state_dict(ckpt["model"])
    eopt = ember.optim.Adam(emodel.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)
    eopt.load_state_dict(ckpt["opt"])
    xe = ember.from_numpy(x.numpy())
    for _ in range(2):
        topt.zero_grad()
        tmodel(x).pow(2).mean().backward()
        topt.step()
        eopt.zero_grad()
        emodel(xe).pow(2).mean().backward()
        eopt.step()
    for (name, p), q in zip(emodel.named_parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
    # and the other way: ember's checkpoint resumes in torch
    back = torch.load(ember_bytes({"model": emodel.state_dict(), "opt": eopt.state_dict()}),
                      weights_only=True)
    tmodel2 = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    tmodel2.load_state_dict(back["model"])
    topt2 = torch.optim.Adam(tmodel2.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)
    topt2.load_state_dict(back["opt"])
    for m, o in ((tmodel, topt), (tmodel2, topt2)):
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()
    for p, q in zip(tmodel.parameters(), tmodel2.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


TORCH_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8,
                torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64,
                torch.complex128]


def torch_sample(dtype):
    g = torch.Generator().manual_seed(3)
    if dtype == torch.bool:
        return torch.rand(3, 4, generator=g) > 0.5
    if dtype.is_complex:
        return torch.randn(3, 4, dtype=dtype, generator=g)
    if dtype.is_floating_point:
        return torch.randn(3, 4, generator=g).to(dtype)
    return torch.randint(0, 100, (3, 4), generator=g).to(dtype)


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_every_dtype_both_ways(dtype):
    t = torch_sample(dtype)
    obj = {"t": t, "view": t[1:, ::2], "dtype": dtype, "scalar": t[0, 0].clone()}
    loaded = load(torch_bytes(obj))
    assert loaded["dtype"] is getattr(ember, str(dtype).split(".")[1])
    np.testing.assert_array_equal(as_numpy(loaded["t"]), as_numpy(t))
    np.testing.assert_array_equal(as_numpy(loaded["view"]), as_numpy(t[1:, ::2]))
    assert loaded["view"].stride() == (4, 2) and loaded["view"].storage_offset() == 4
    back = torch.load(ember_bytes(loaded), weights_only=True)
    assert back["dtype"] is dtype
    for key in ("t", "view", "scalar"):
        assert back[key].dtype == dtype and torch.equal(back[key], obj[key])
    assert back["view"].untyped_storage().data_ptr() == back["t"].untyped_storage().data_ptr()


def test_torch_views_share_memory_in_ember():
    base = torch.arange(10.0)
    loaded = load(torch_bytes([base, base[2:5], base.view(2, 5).t()]))
    loaded[0][3] = -1.0
    assert loaded[1][1].item() == -1.0 and loaded[2][3, 0].item() == -1.0


def test_parameters_sizes_devices_from_torch():
    p = torch.nn.Parameter(torch.randn(3))
    frozen = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    leaf = torch.randn(2, requires_grad=True)
    obj = {"p": p, "frozen": frozen, "leaf": leaf, "size": torch.Size([1, 2]),
           "dev": torch.device("cpu"), "cuda": torch.device("cuda", 1),
           "od": collections.OrderedDict(a=1)}
    loaded = load(torch_bytes(obj))
    assert type(loaded["p"]) is nn.Parameter and loaded["p"].requires_grad
    assert type(loaded["frozen"]) is nn.Parameter and not loaded["frozen"].requires_grad
    assert loaded["leaf"].requires_grad and type(loaded["leaf"]) is ember.Tensor
    assert type(loaded["size"]) is ember.Size and loaded["size"] == (1, 2)
    assert loaded["dev"] == ember.device("cpu") and loaded["cuda"] == ember.device("cuda", 1)
    assert type(loaded["od"]) is collections.OrderedDict
    back = torch.load(ember_bytes(loaded), weights_only=True)
    assert type(back["p"]) is torch.nn.Parameter and back["cuda"] == torch.device("cuda", 1)
    assert back["size"] == torch.Size([1, 2]) and back["leaf"].requires_grad


def test_conj_and_neg_bits_are_materialized():
    z = torch.randn(3, dtype=torch.complex64)
    conj = load(torch_bytes(z.conj()))
    np.testing.assert_array_equal(conj.numpy(), z.conj().resolve_conj().numpy())
    neg = z.conj().imag  # a float view with the negative bit set
    assert neg.is_neg()
    np.testing.assert_array_equal(load(torch_bytes(neg)).numpy(), neg.resolve_neg().numpy())


def test_torch_legacy_format_and_no_byteorder_record():
    sd = torch_vgg().state_dict()
    assert_same_state(load(torch_bytes(sd, _use_new_zipfile_serialization=False)), sd)
    assert_same_state(load(torch_bytes(sd, _disable_byteorder_record=True)), sd)


def test_torch_file_with_python_attributes():
    t = torch.ones(2)
    t.note = "x"
    p = torch.nn.Parameter(torch.ones(1))
    p.tag = 1
    loaded = load(torch_bytes([t, p]))
    assert loaded[0].note == "x" and loaded[1].tag == 1 and type(loaded[1]) is nn.Parameter


def test_torch_whole_model():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    buf = torch_bytes(model)
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules.container.Sequential"):
        load(buf)
    buf.seek(0)
    loaded = load(buf, weights_only=False)  # torch's module classes map to ember's
    assert type(loaded) is nn.Sequential and type(loaded[0]) is nn.Linear
    x = torch.randn(4, 3)
    np.testing.assert_allclose(loaded(ember.from_numpy(x.numpy())).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-6)


def test_torch_only_dtypes_are_named_in_the_error():
    with pytest.raises(RuntimeError, match="torch.uint16"):
        load(torch_bytes(torch.ones(2, dtype=torch.uint16)))


def test_torch_reads_every_ember_type_with_weights_only():
    obj = {"size": ember.Size([3]), "dtype": ember.float16, "dev": ember.device("cpu"),
           "set": {1}, "complex": 2j, "bytes": b"x", "bytearray": bytearray(b"y"),
           "nested": [(1, 2.0, None, "s", True)], "param": nn.Parameter(ember.ones(1)),
           "od": collections.OrderedDict(b=ember.zeros(2, dtype=ember.int32))}
    back = torch.load(ember_bytes(obj), weights_only=True)
    assert back["size"] == torch.Size([3]) and back["dtype"] is torch.float16
    assert back["dev"] == torch.device("cpu") and back["set"] == {1} and back["complex"] == 2j
    assert back["bytes"] == b"x" and back["bytearray"] == bytearray(b"y")
    assert back["nested"] == [(1, 2.0, None, "s", True)]
    assert type(back["param"]) is torch.nn.Parameter
    assert list(back["od"]) == ["b"] and back["od"]["b"].dtype == torch.int32
