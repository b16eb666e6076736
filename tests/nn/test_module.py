"""The Module contract against torch's: registration, attribute access, iteration, state_dict and
loading, modes, conversions, hooks, repr, pickling."""

import copy
import pickle
import re
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
from nn_check import copy_state
from reference import assert_same

import ember
import ember.nn as enn


def both(fn):
    """``fn(lib)`` for ember and torch."""
    return fn(ember), fn(torch)


def net(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(),
                                              lib.nn.BatchNorm1d(5))
            self.fc = lib.nn.Linear(5, 3)
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("tmp", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.fc(self.features(x)) * self.scale

    return Net()


def raises_same(fn):
    """``fn(lib)`` raises the same exception type and message on ember and torch."""
    with pytest.raises(Exception) as t_info:
        fn(torch)
    with pytest.raises(type(t_info.value)) as e_info:
        fn(ember)
    t_msg = re.sub(r"torch\.(?!nn\.)", "ember.", str(t_info.value))
    assert str(e_info.value) == t_msg, f"\nember: {e_info.value}\ntorch: {t_info.value}"


# --- registration ---------------------------------------------------------------------------------

def test_named_members_match_torch():
    e, t = both(net)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in e.named_parameters(prefix="m", recurse=False)] == \
        [n for n, _ in t.named_parameters(prefix="m", recurse=False)]
    assert [n for n, _ in e.features.named_parameters(prefix="features")] == \
        [n for n, _ in t.features.named_parameters(prefix="features")]
    assert len(list(e.parameters())) == len(list(t.parameters())) == 6
    assert len(list(e.modules())) == len(list(t.modules()))
    assert all(isinstance(p, enn.Parameter) for p in e.parameters())


def test_shared_parameters_are_listed_once():
    def make(lib):
        m = lib.nn.Module()
        m.a = lib.nn.Linear(2, 2)
        m.b = m.a
        return m

    e, t = both(make)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in t.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in e.named_modules(remove_duplicate=False)] == \
        [n for n, _ in t.named_modules(remove_duplicate=False)]


def test_setattr_moves_between_kinds():
    m = enn.Module()
    m.x = enn.Parameter(ember.ones(2))
    assert "x" in m._parameters
    m.x = None
    assert m._parameters["x"] is None and m.x is None
    m.register_buffer("b", ember.ones(1))
    m.b = ember.zeros(1)
    assert m._buffers["b"].sum().item() == 0
    m.b = enn.Linear(1, 1)  # a module replaces the buffer
    assert "b" in m._modules and "b" not in m._buffers
    m.plain = 3
    assert m.plain == 3 and "plain" in m.__dict__
    del m.plain
    del m.b
    del m.x
    assert not m._parameters and not m._modules
    m.buf = enn.Buffer(ember.ones(2), persistent=False)
    assert "buf" in m._buffers and "buf" not in m.state_dict()


@pytest.mark.parametrize("fn", [
    lambda lib: setattr(lib.nn.Linear(2, 2), "weight", lib.ones(2, 2)),
    lambda lib: setattr(lib.nn.Sequential(lib.nn.ReLU()), "0", lib.ones(1)),
    lambda lib: lib.nn.Module().register_buffer("a.b", lib.ones(1)),
    lambda lib: lib.nn.Module().register_buffer("", lib.ones(1)),
    lambda lib: lib.nn.Module().register_buffer("x", 3),
    lambda lib: lib.nn.Module().register_buffer(1, lib.ones(1)),
    lambda lib: lib.nn.Linear(1, 1).register_buffer("weight", lib.ones(1)),
    lambda lib: lib.nn.Module().register_parameter("a.b", None),
    lambda lib: lib.nn.Module().register_parameter("", None),
    lambda lib: lib.nn.Module().register_parameter("w", lib.ones(2)),
    lambda lib: lib.nn.Module().register_parameter("w", lib.nn.Parameter(lib.ones(2)) * 2),
    lambda lib: lib.nn.Module().add_module("a.b", lib.nn.ReLU()),
    lambda lib: lib.nn.Module().add_module("", lib.nn.ReLU()),
    lambda lib: lib.nn.Module().add_module("x", 3),
    lambda lib: lib.nn.Module().add_module(3, lib.nn.ReLU()),
    lambda lib: lib.nn.Linear(1, 1).add_module("weight", lib.nn.ReLU()),
    lambda lib: lib.nn.Module().register_module("a.b", lib.nn.ReLU()),
    lambda lib: lib.nn.Linear(1, 1).missing,
    lambda lib: lib.nn.Module().get_submodule("a.b"),
    lambda lib: lib.nn.Sequential(lib.nn.Linear(1, 1)).get_submodule("0.weight"),
    lambda lib: lib.nn.Sequential(lib.nn.Linear(1, 1)).get_parameter("0.nope"),
    lambda lib: lib.nn.Sequential(lib.nn.BatchNorm1d(1)).get_parameter("0.running_mean"),
    lambda lib: lib.nn.Sequential(lib.nn.BatchNorm1d(1)).get_buffer("0.weight"),
    lambda lib: lib.nn.Linear(1, 1).set_submodule("", lib.nn.ReLU()),
    lambda lib: lib.nn.Linear(1, 1).train("yes"),
    lambda lib: lib.nn.Linear(1, 1).to(lib.int64),
    lambda lib: lib.nn.Linear(1, 1).load_state_dict([1, 2]),
    lambda lib: lib.nn.Module().forward(),
    lambda lib: lib.nn.Module()(lib.ones(1)),
    lambda lib: lib.nn.Module(3),
    lambda lib: lib.nn.Module(foo=3),
])
def test_registration_errors_match_torch(fn):
    raises_same(fn)


def test_assignment_before_init_raises_like_torch():
    def make(lib, kind):
        class Bad(lib.nn.Module):
            def __init__(self):
                if kind == "param":
                    self.w = lib.nn.Parameter(lib.ones(1))
                elif kind == "module":
                    self.m = lib.nn.ReLU()
                else:
                    self.register_buffer("b", lib.ones(1))
                super().__init__()
        return Bad()

    for kind in ("param", "module", "buffer"):
        raises_same(lambda lib, k=kind: make(lib, k))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        make(ember, "param")


def test_setting_wrong_type_on_parameter_message():
    lin = enn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign 'ember.FloatTensor' as parameter 'weight' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        lin.weight = ember.ones(2, 2)


def test_get_submodule_parameter_buffer():
    e = net(ember)
    assert e.get_submodule("features.0") is e.features[0]
    assert e.get_submodule("") is e
    assert e.get_parameter("features.0.weight") is e.features[0].weight
    assert e.get_buffer("features.2.running_mean") is e.features[2].running_mean
    e.set_submodule("features.1", enn.Tanh())
    assert isinstance(e.features[1], enn.Tanh)


def test_dir_lists_members():
    e, t = both(net)
    de, dt = set(dir(e)), set(dir(t))
    for name in ("features", "fc", "scale", "tmp", "forward", "state_dict", "training"):
        assert name in de and name in dt


# --- state dict -----------------------------------------------------------------------------------

def test_state_dict_keys_values_and_metadata():
    e, t = both(net)
    copy_state(e, t)
    se, st = e.state_dict(), t.state_dict()
    assert isinstance(se, OrderedDict)
    assert list(se.keys()) == list(st.keys())
    for k in st:
        assert_same(se[k], st[k])
        assert se[k].grad_fn is None and not se[k].requires_grad
    assert dict(se._metadata) == dict(st._metadata)
    kept = e.state_dict(keep_vars=True)
    assert kept["fc.weight"] is e.fc.weight
    assert list(e.state_dict(prefix="model.").keys()) == list(t.state_dict(prefix="model.").keys())
    dest = {}
    assert e.state_dict(destination=dest) is dest and "fc.bias" in dest


def test_state_dict_shares_memory():
    lin = enn.Linear(2, 2)
    sd = lin.state_dict()
    sd["weight"].fill_(0.5)
    assert (lin.weight == 0.5).all()


def test_load_state_dict_round_trip_and_incompatible_keys():
    a, b = net(ember), net(ember)
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(pa.detach().numpy(), pb.detach().numpy())
    sd = a.state_dict()
    del sd["fc.bias"]
    sd["extra.weight"] = ember.ones(1)
    e_res = b.load_state_dict(sd, strict=False)
    t_net = net(torch)
    t_sd = t_net.state_dict()
    del t_sd["fc.bias"]
    t_sd["extra.weight"] = torch.ones(1)
    t_res = t_net.load_state_dict(t_sd, strict=False)
    assert e_res.missing_keys == t_res.missing_keys
    assert e_res.unexpected_keys == t_res.unexpected_keys
    assert repr(e_res) == repr(t_res)


def test_load_state_dict_errors_match_torch():
    def mismatch(lib):
        class Net(lib.nn.Module):
            def __init__(self, n):
                super().__init__()
                self.fc = lib.nn.Linear(n, 10)

        src = Net(5).state_dict()
        Net(4).load_state_dict(src)

    raises_same(mismatch)
    with pytest.raises(RuntimeError) as info:
        mismatch(ember)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Net:\n\tsize mismatch for fc.weight: copying a param "
        "with shape ember.Size([10, 5]) from checkpoint, the shape in current model is "
        "ember.Size([10, 4]).")

    def missing_unexpected(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))
        sd = m.state_dict()
        sd["0.extra"] = lib.ones(1)
        del sd["0.bias"]
        m.load_state_dict(sd)

    raises_same(missing_unexpected)

    def not_tensor(lib):
        m = lib.nn.Linear(2, 2)
        m.load_state_dict({"weight": [[1, 2], [3, 4]], "bias": lib.ones(2)})

    with pytest.raises(RuntimeError, match='While copying the parameter named "weight"'):
        not_tensor(ember)


def test_load_state_dict_assign_and_scalar_compat():
    m = enn.Linear(2, 2)
    w = ember.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, enn.Parameter) and m.weight.requires_grad
    assert m.weight.data_ptr() == w.data_ptr()
    # 0.3-era checkpoints stored scalars as 1-element vectors
    s = enn.Module()
    s.p = enn.Parameter(ember.tensor(1.0))
    s.load_state_dict({"p": ember.tensor([3.0])})
    assert s.p.item() == 3.0


def test_batchnorm_loads_old_checkpoint_without_num_batches_tracked():
    bn = enn.BatchNorm1d(3)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    sd._metadata[""]["version"] = 1
    assert bn.load_state_dict(sd).missing_keys == []
    sd2 = enn.BatchNorm1d(3).state_dict()
    del sd2["num_batches_tracked"]
    with pytest.raises(RuntimeError, match="Missing key"):
        enn.BatchNorm1d(3).load_state_dict(sd2)


def test_state_dict_hooks():
    m = enn.Linear(2, 2)
    calls = []
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append("pre"))
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append("post"))
    m.register_load_state_dict_pre_hook(lambda mod, *args: calls.append("load_pre"))
    m.register_load_state_dict_post_hook(lambda mod, keys: calls.append("load_post"))
    m.load_state_dict(m.state_dict())
    assert calls == ["pre", "post", "load_pre", "load_post"]


def test_extra_state():
    class WithExtra(enn.Module):
        def __init__(self):
            super().__init__()
            self.value = 1

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]

    a, b = WithExtra(), WithExtra()
    a.value = 7
    sd = a.state_dict()
    assert sd["_extra_state"] == {"value": 7}
    b.load_state_dict(sd)
    assert b.value == 7


# --- modes and conversions ------------------------------------------------------------------------

def test_train_eval_requires_grad_zero_grad_apply():
    m = net(ember)
    assert m.training and m.features[2].training
    assert m.eval() is m and not m.features[2].training
    m.train()
    assert m.fc.training
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    out = m(ember.randn(4, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen[-1] == "Net" and seen[0] == "Linear"


def test_to_keeps_parameter_objects_and_converts_floats_only():
    m = net(ember)
    w = m.fc.weight
    m(ember.randn(4, 4)).sum().backward()
    assert m.double() is m
    assert m.fc.weight is w and w.dtype == ember.float64 and w.grad.dtype == ember.float64
    assert m.features[2].running_mean.dtype == ember.float64
    assert m.features[2].num_batches_tracked.dtype == ember.int64
    m.float()
    assert w.dtype == ember.float32
    m.to(ember.float64)
    assert w.dtype == ember.float64
    m.to("cpu", ember.float32)
    assert w.dtype == ember.float32
    m.to(ember.zeros(1, dtype=ember.float64))
    assert w.dtype == ember.float64
    m.to(device="cpu", dtype=ember.float32, non_blocking=True)
    assert w.dtype == ember.float32 and m.cpu() is m
    m.half()
    assert w.dtype == ember.float16
    m.type(ember.float32)
    assert w.dtype == ember.float32
    assert m.share_memory() is m


def test_repr_matches_torch():
    e, t = both(net)
    assert repr(e) == repr(t)

    def nested(lib):
        return lib.nn.Sequential(OrderedDict([
            ("block", lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.ReLU()))),
            ("drop", lib.nn.Dropout(0.2)),
        ]))

    e, t = both(nested)
    assert repr(e) == repr(t)

    def multi(lib):
        class Multi(lib.nn.Module):
            def extra_repr(self):
                return "a=1\nb=2"

        return Multi()

    em, tm = both(multi)
    assert repr(em) == repr(tm)
    em.child, tm.child = enn.ReLU(), torch.nn.ReLU()
    assert repr(em) == repr(tm)


# --- pickling and copying -------------------------------------------------------------------------

class PickleNet(enn.Module):
    def __init__(self):
        super().__init__()
        self.features = enn.Sequential(enn.Linear(4, 5), enn.ReLU(), enn.BatchNorm1d(5))
        self.fc = enn.Linear(5, 3)

    def forward(self, x):
        return self.fc(self.features(x))


def test_pickle_and_deepcopy_whole_modules():
    m = PickleNet()
    m(ember.randn(4, 4))
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert type(clone) is PickleNet
        assert all(isinstance(p, enn.Parameter) for p in clone.parameters())
        for (n, a), (_, b) in zip(m.state_dict().items(), clone.state_dict().items()):
            assert np.array_equal(a.numpy(), b.numpy()), n
        assert clone.fc.weight.data_ptr() != m.fc.weight.data_ptr()
        x = ember.randn(3, 4)
        m.eval()
        clone.eval()
        assert np.allclose(m(x).detach().numpy(), clone(x).detach().numpy())
        m.train()


# --- hooks ----------------------------------------------------------------------------------------

def test_forward_hooks_match_torch():
    def run(lib):
        log = []
        m = lib.nn.Linear(3, 2)
        copy_w = m.weight.detach().clone()
        h1 = m.register_forward_pre_hook(lambda mod, args: log.append("pre1"))
        m.register_forward_pre_hook(lambda mod, args: log.append("pre0"), prepend=True)
        m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
        m.register_forward_hook(lambda mod, args, out: out * 2)
        m.register_forward_hook(lambda mod, args, kwargs, out: log.append("kw") or None,
                                with_kwargs=True)
        x = lib.ones(1, 3)
        out = m(x)
        h1.remove()
        m(x)
        expected = 2 * (x @ copy_w.T + m.bias.detach())
        assert lib.allclose(out.detach(), expected)
        return log

    assert run(ember) == run(torch)


def test_forward_pre_hook_replaces_input_and_always_call():
    m = enn.Identity()
    m.register_forward_pre_hook(lambda mod, args: args[0] + 1)
    assert m(ember.zeros(1)).item() == 1
    bad = enn.Linear(2, 2)
    called = []
    bad.register_forward_hook(lambda mod, args, out: called.append(out), always_call=True)
    with pytest.raises(RuntimeError):
        bad(ember.ones(1, 3))
    assert called == [None]


def test_full_backward_hooks_match_torch():
    def run(lib):
        log = {}
        m = lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Tanh())
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(lib.ones(p.shape) * 0.3) if lib is torch else None
        if lib is ember:
            with ember.no_grad():
                for p in m.parameters():
                    p.fill_(0.3)

        def hook(mod, grad_input, grad_output):
            log["gin"] = [g.detach().numpy().copy() if g is not None else None
                          for g in grad_input]
            log["gout"] = [g.detach().numpy().copy() for g in grad_output]
            return tuple(g * 2 if g is not None else None for g in grad_input)

        def pre_hook(mod, grad_output):
            log["pre"] = grad_output[0].detach().numpy().copy()
            return (grad_output[0] * 3,)

        m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(pre_hook)
        x = lib.tensor([[1.0, -2.0, 0.5]], requires_grad=True)
        m(x).sum().backward()
        log["xgrad"] = x.grad.numpy().copy()
        log["wgrad"] = m[0].weight.grad.numpy().copy()
        return log

    e, t = run(ember), run(torch)
    for k in t:
        if isinstance(t[k], list):
            for a, b in zip(e[k], t[k]):
                np.testing.assert_allclose(a, b, rtol=1e-6)
        else:
            np.testing.assert_allclose(e[k], t[k], rtol=1e-6)


def test_full_backward_hook_without_input_grad_warns():
    m = enn.Linear(2, 2)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, len(gout))))
    with pytest.warns(UserWarning, match="Full backward hook is firing"):
        m(ember.ones(1, 2)).sum().backward()
    assert seen[0][0] == (None,) and seen[0][1] == 1
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks"):
        m.register_backward_hook(lambda *a: None)


def test_hook_handles_remove_and_context_manager():
    m = enn.ReLU()
    calls = []
    with m.register_forward_hook(lambda *a: calls.append(1)):
        m(ember.ones(1))
    m(ember.ones(1))
    assert calls == [1]
    assert not m._forward_hooks


def test_global_forward_hook():
    from ember.nn.modules.module import register_module_forward_hook

    calls = []
    handle = register_module_forward_hook(lambda mod, args, out: calls.append(type(mod).__name__))
    try:
        enn.Sequential(enn.ReLU())(ember.ones(1))
    finally:
        handle.remove()
    assert calls == ["ReLU", "Sequential"]
    enn.ReLU()(ember.ones(1))
    assert len(calls) == 2


def test_state_dict_positional_args_warn():
    m = enn.Linear(1, 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sd = m.state_dict(None, "p.")
    assert any(issubclass(x.category, FutureWarning) for x in w)
    assert list(sd) == ["p.weight", "p.bias"]


@pytest.mark.parametrize("first, second", [("full", "regular"), ("regular", "full")])
def test_mixing_backward_hook_kinds_errors_match_torch(first, second, monkeypatch):
    import torch.nn.modules.module as tmod

    import ember.nn.modules.module as emod

    monkeypatch.setattr(emod, "_global_is_full_backward_hook", None)
    monkeypatch.setattr(tmod, "_global_is_full_backward_hook", None)
    name = {"full": "register_{}full_backward_hook", "regular": "register_{}backward_hook"}
    for m, mod in ((torch, tmod), (ember, emod)):
        layer = m.nn.Linear(1, 1)
        getattr(layer, name[first].format(""))(lambda *a: None)
        with pytest.raises(RuntimeError) as local:
            getattr(layer, name[second].format(""))(lambda *a: None)
        handle = getattr(mod, name[first].format("module_"))(lambda *a: None)
        handle.remove()
        with pytest.raises(RuntimeError) as glob:
            getattr(mod, name[second].format("module_"))(lambda *a: None)
        if m is torch:
            expected = (str(local.value), str(glob.value))
    assert (str(local.value), str(glob.value)) == expected


def test_registration_hooks_replace_values():
    from ember.nn.modules.module import (
        register_module_buffer_registration_hook,
        register_module_module_registration_hook,
        register_module_parameter_registration_hook,
    )

    p2, b2, m2 = enn.Parameter(ember.ones(1)), ember.zeros(2), enn.ReLU()
    seen = []
    handles = [
        register_module_parameter_registration_hook(lambda mod, n, v: seen.append(n) or p2),
        register_module_buffer_registration_hook(lambda mod, n, v: seen.append(n) or b2),
        register_module_module_registration_hook(lambda mod, n, v: seen.append(n) or m2),
    ]
    try:
        m = enn.Module()
        m.p = enn.Parameter(ember.zeros(3))
        m.register_buffer("b", ember.ones(3))
        m.c = enn.Tanh()
        m.add_module("d", enn.Tanh())
        m.c = None
    finally:
        for h in handles:
            h.remove()
    assert seen == ["p", "b", "c", "d", "c"]
    assert m.p is p2 and m.b is b2 and m.d is m2 and m.c is m2
    m.e = enn.Tanh()
    assert isinstance(m.e, enn.Tanh)


def test_prepend_backward_hooks_run_first():
    m = enn.Linear(2, 2)
    log = []
    m.register_full_backward_pre_hook(lambda mod, g: log.append("pre1"))
    m.register_full_backward_pre_hook(lambda mod, g: log.append("pre0"), prepend=True)
    m.register_full_backward_hook(lambda mod, gi, go: log.append("hook1"))
    m.register_full_backward_hook(lambda mod, gi, go: log.append("hook0"), prepend=True)
    m(ember.ones(1, 2, requires_grad=True)).sum().backward()
    assert log == ["pre0", "pre1", "hook0", "hook1"]
