"""Containers against torch's: indexing, mutation, iteration, reprs, registration."""

from collections import OrderedDict

import pytest
import torch

import ember
import ember.nn as enn


def both(fn):
    return fn(ember), fn(torch)


def names(m):
    return [n for n, _ in m.named_parameters()]


def seq(lib):
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))


def test_sequential_indexing_and_reprs():
    e, t = both(seq)
    assert repr(e) == repr(t)
    assert len(e) == 3 and isinstance(e[0], enn.Linear) and isinstance(e[-1], enn.Linear)
    assert isinstance(e[1:], enn.Sequential) and repr(e[1:]) == repr(t[1:])
    assert repr(e[::2]) == repr(t[::2])
    assert e[-3] is e[0]
    with pytest.raises(IndexError):
        e[3]
    with pytest.raises(IndexError):
        t[3]
    assert [type(m).__name__ for m in e] == [type(m).__name__ for m in t]
    assert names(e) == names(t)


def test_sequential_ordered_dict_and_forward():
    def make(lib):
        return lib.nn.Sequential(OrderedDict([("fc", lib.nn.Linear(2, 2)), ("act", lib.nn.Tanh())]))

    e, t = both(make)
    assert repr(e) == repr(t) and names(e) == names(t)
    x = ember.ones(1, 2)
    assert e(x).shape == (1, 2)
    assert e.fc is e[0]


def test_sequential_mutation_matches_torch():
    def ops(lib):
        s = seq(lib)
        s.append(lib.nn.Sigmoid())
        s.insert(1, lib.nn.Tanh())
        s.insert(-1, lib.nn.ELU())
        s.extend([lib.nn.ReLU6(), lib.nn.Identity()])
        del s[0]
        s[0] = lib.nn.SELU()
        popped = s.pop(1)
        del s[2:4]
        s2 = s + lib.nn.Sequential(lib.nn.Softsign())
        s += lib.nn.Sequential(lib.nn.GELU())
        s3 = lib.nn.Sequential(lib.nn.ReLU()) * 2
        return repr(s), repr(s2), repr(s3), type(popped).__name__, len(s)

    assert ops(ember) == ops(torch)
    with pytest.raises(ValueError):
        enn.Sequential() + enn.ModuleList()
    with pytest.raises(IndexError):
        enn.Sequential().insert(2, enn.ReLU())
    with pytest.raises(ValueError):
        enn.Sequential(enn.ReLU()) * 0


def test_module_list_matches_torch():
    def ops(lib):
        ml = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(3)])
        ml.append(lib.nn.ReLU())
        ml.extend([lib.nn.Tanh()])
        ml.insert(0, lib.nn.Sigmoid())
        ml += [lib.nn.ReLU()]
        del ml[1]
        ml[0] = lib.nn.Softsign()
        sub = ml[1:3]
        popped = ml.pop(-1)
        return repr(ml), repr(sub), type(popped).__name__, len(ml), names(ml)

    assert ops(ember) == ops(torch)
    with pytest.raises(TypeError):
        enn.ModuleList().extend(3)
    assert repr(enn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"


def test_module_list_repr_compresses_repeats_like_torch():
    e = enn.ModuleList([enn.Linear(2, 2), enn.Linear(2, 2), enn.ReLU(), enn.Linear(2, 2)])
    t = torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.ReLU(),
                             torch.nn.Linear(2, 2)])
    assert repr(e) == repr(t)
    e2 = enn.ModuleList([enn.Sequential(enn.Linear(1, 1), enn.ReLU()) for _ in range(2)])
    t2 = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU())
                              for _ in range(2)])
    assert repr(e2) == repr(t2)


def test_module_dict_matches_torch():
    def ops(lib):
        md = lib.nn.ModuleDict({"b": lib.nn.Linear(1, 1), "a": lib.nn.ReLU()})
        md["c"] = lib.nn.Tanh()
        md.update([("d", lib.nn.Sigmoid())])
        md.update(lib.nn.ModuleDict({"e": lib.nn.ELU()}))
        popped = md.pop("a")
        del md["d"]
        return (repr(md), list(md.keys()), [type(v).__name__ for v in md.values()], "b" in md,
                len(md), type(popped).__name__, names(md), list(md))

    assert ops(ember) == ops(torch)
    md = enn.ModuleDict({"x": enn.ReLU()})
    md.clear()
    assert len(md) == 0
    with pytest.raises(ValueError):
        enn.ModuleDict([("a", enn.ReLU(), 3)])
    with pytest.raises(TypeError):
        enn.ModuleDict(3)


def test_parameter_list_matches_torch():
    def ops(lib):
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.zeros(3, 2)])
        pl.append(lib.ones(1, dtype=lib.float64))
        pl.extend([lib.nn.Parameter(lib.ones(4))])
        pl.append("not a tensor")
        return (repr(pl).replace("torch.", "ember."), len(pl), names(pl),
                [type(p).__name__ for p in pl][:4], repr(pl[1:3]).replace("torch.", "ember."))

    assert ops(ember) == ops(torch)
    pl = enn.ParameterList([ember.ones(2)])
    assert isinstance(pl[0], enn.Parameter) and pl[0].requires_grad
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        pl(1)
    with pytest.raises(TypeError):
        pl.extend(ember.ones(2))


def test_parameter_dict_matches_torch():
    def ops(lib):
        pd = lib.nn.ParameterDict({"b": lib.ones(2), "a": lib.nn.Parameter(lib.zeros(1))})
        pd["c"] = lib.ones(2, 2, dtype=lib.float64)
        pd.update([("d", lib.ones(3))])
        pd.setdefault("e", lib.ones(5))
        popped = pd.pop("a")
        k, _ = pd.popitem()
        merged = pd | lib.nn.ParameterDict({"z": lib.ones(1)})
        return (repr(pd).replace("torch.", "ember."), list(pd.keys()), len(pd), names(pd),
                "b" in pd, k,
                popped.shape == (1,), list(merged), pd.get("nope"), list(reversed(pd)))

    assert ops(ember) == ops(torch)
    pd = enn.ParameterDict()
    with pytest.raises(TypeError):
        pd[3] = ember.ones(1)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        pd(1)
    c = enn.ParameterDict({"a": ember.ones(1)}).copy()
    assert list(c.keys()) == ["a"]
    pd2 = enn.ParameterDict({"a": ember.ones(1)})
    pd2.clear()
    assert len(pd2) == 0


def test_containers_register_parameters_for_state_dict():
    class Net(enn.Module):
        def __init__(self):
            super().__init__()
            self.layers = enn.ModuleList([enn.Linear(2, 2), enn.Linear(2, 1)])
            self.heads = enn.ModuleDict({"cls": enn.Linear(1, 3)})
            self.extra = enn.ParameterList([ember.ones(2)])
            self.table = enn.ParameterDict({"emb": ember.zeros(3)})

    assert list(Net().state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                        "layers.1.bias", "heads.cls.weight", "heads.cls.bias",
                                        "extra.0", "table.emb"]
