"""The ``Optimizer`` base contract against torch's: construction errors, parameter groups,
zero_grad, closures, hooks, repr, state_dict layout and loading."""

from __future__ import annotations

import copy
import pickle
import warnings
from collections import defaultdict

import numpy as np
import pytest
import torch
from optim_check import (
    assert_params_equal,
    assert_state_equal,
    load_torch_state,
    make_pair,
    run_steps,
)

import ember
import ember.nn
import ember.optim


def _param(*shape):
    return ember.nn.Parameter(ember.ones(*shape))


def _torch_param(*shape):
    return torch.nn.Parameter(torch.ones(*shape))


def _same_error(fn):
    """``fn(lib, param_factory)`` raises the same exception type and message on both."""
    with pytest.raises(Exception) as t_info:
        fn(torch, _torch_param)
    with pytest.raises(type(t_info.value)) as e_info:
        fn(ember, _param)
    assert str(e_info.value) == str(t_info.value).replace("torch.", "ember.")


@pytest.mark.parametrize("fn", [
    lambda m, P: m.optim.SGD(P(3)),  # a single tensor
    lambda m, P: m.optim.SGD([]),
    lambda m, P: m.optim.SGD(x for x in []),
    lambda m, P: m.optim.SGD([P(3) * 2]),  # not a leaf
    lambda m, P: m.optim.SGD([1]),
    lambda m, P: m.optim.SGD([{"params": {P(3)}}]),  # a set
    lambda m, P: (lambda p: m.optim.SGD([{"params": [p]}, {"params": [p]}]))(P(3)),
    lambda m, P: m.optim.SGD([("a", P(3)), P(2)]),
    lambda m, P: m.optim.SGD([P(3)]).add_param_group([P(2)]),
    lambda m, P: m.optim.SGD([{"params": [P(3)]}]).add_param_group({"params": [("a", P(2))]}),
    lambda m, P: m.optim.LBFGS([{"params": [P(3)]}, {"params": [P(2)]}]),
    lambda m, P: m.optim.SGD([P(3)]).load_state_dict(
        {"state": {}, "param_groups": [{"params": [0]}, {"params": [1]}]}),
    lambda m, P: m.optim.SGD([P(3)]).load_state_dict(
        {"state": {}, "param_groups": [{"params": [0, 1]}]}),
])
def test_construction_and_loading_errors(fn):
    _same_error(fn)


def test_a_non_leaf_that_retains_its_grad_can_be_optimized():
    for lib, make in ((torch, _torch_param), (ember, _param)):
        x = make(3) * 2
        x.retain_grad()
        assert lib.optim.SGD([x], lr=0.1).param_groups[0]["params"][0] is x


def test_single_tensor_message_names_the_type():
    with pytest.raises(TypeError, match="but got ember.FloatTensor"):
        ember.optim.SGD(_param(3))


def test_duplicate_parameters_in_a_group_warn():
    p = _param(3)
    with pytest.warns(UserWarning, match="optimizer contains a parameter group with duplicate"):
        ember.optim.SGD([p, p])


def test_generator_used_twice():
    # model.parameters() is a generator: the second optimizer gets nothing, as in torch.
    params = [_param(3)]
    gen = (p for p in params)
    ember.optim.SGD(gen, lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        ember.optim.SGD(gen, lr=0.1)


def test_groups_are_filled_with_defaults_like_torch():
    e = ember.optim.SGD([{"params": [_param(3)], "lr": 0.5}, {"params": _param(2)}], lr=0.1,
                        momentum=0.9)
    t = torch.optim.SGD([{"params": [_torch_param(3)], "lr": 0.5}, {"params": _torch_param(2)}],
                        lr=0.1, momentum=0.9)
    for eg, tg in zip(e.param_groups, t.param_groups):
        assert list(eg) == list(tg)
        assert {k: v for k, v in eg.items() if k != "params"} == \
            {k: v for k, v in tg.items() if k != "params"}
    assert e.defaults == t.defaults
    assert isinstance(e.state, defaultdict) and len(e.state) == 0
    p = _param(4)
    e.add_param_group({"params": [p], "momentum": 0.5})
    assert e.param_groups[-1]["params"] == [p] and e.param_groups[-1]["lr"] == 0.1
    assert e.param_groups[-1]["momentum"] == 0.5


def test_named_parameters():
    e = ember.optim.SGD([("a", _param(3)), ("b", _param(2))], lr=0.1)
    t = torch.optim.SGD([("a", _torch_param(3)), ("b", _torch_param(2))], lr=0.1)
    assert e.param_groups[0]["param_names"] == ["a", "b"]
    assert e.state_dict() == t.state_dict()


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adadelta", "LBFGS"])
def test_repr_like_torch(name):
    e = getattr(ember.optim, name)([_param(3)])
    t = getattr(torch.optim, name)([_torch_param(3)])
    assert repr(e) == repr(t)


def test_zero_grad():
    p, q = _param(3), _param(2)
    opt = ember.optim.SGD([p, q], lr=0.1)
    p.grad = ember.ones(3)
    opt.zero_grad()
    assert p.grad is None and q.grad is None
    p.grad = ember.ones(3)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.tolist() == [0.0, 0.0, 0.0]
    # a gradient that has a graph (create_graph=True) is detached first
    x = _param(3)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    ember.optim.SGD([x]).zero_grad(set_to_none=False)
    assert not x.grad.requires_grad and x.grad.grad_fn is None and x.grad.tolist() == [0.0] * 3


def test_step_skips_parameters_without_grad_and_bumps_versions():
    p, q = _param(3), _param(2)
    opt = ember.optim.Adam([p, q], lr=0.1)
    p.grad = ember.ones(3)
    v = p._version
    opt.step()
    assert p._version > v and q.tolist() == [1.0, 1.0]
    assert list(opt.state) == [p] and q not in opt.state


def test_step_updates_views_of_the_parameter():
    p = _param(4)
    view = p.detach()[1:]
    p.grad = ember.ones(4)
    ember.optim.SGD([p], lr=0.5).step()
    assert view.tolist() == [0.5, 0.5, 0.5]
    assert view._version == p._version  # the shared version counter saw the change


def test_closure_runs_with_grad_enabled_and_its_loss_is_returned():
    e_opt, t_opt, e_params, t_params = make_pair("SGD", {"lr": 0.1, "momentum": 0.9})

    def closure_for(opt, params):
        def closure():
            opt.zero_grad()
            loss = sum((p * p).sum() for p in params)
            loss.backward()
            return loss
        return closure

    for _ in range(3):
        with ember.no_grad():
            e_loss = e_opt.step(closure_for(e_opt, e_params))
        with torch.no_grad():
            t_loss = t_opt.step(closure_for(t_opt, t_params))
        assert abs(e_loss.item() - t_loss.item()) < 1e-5
        assert_params_equal(e_params, t_params)
    assert e_opt.step() is None


def test_step_hooks():
    p = _param(3)
    opt = ember.optim.SGD([p], lr=0.1)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o, args, kwargs)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", args)))
    p.grad = ember.ones(3)
    opt.step()
    assert calls == [("pre", opt, (opt,), {}), ("post", (opt,))]
    pre.remove()
    post.remove()
    opt.step()
    assert len(calls) == 2
    # a pre-hook may replace the arguments
    opt.register_step_pre_hook(lambda o, args, kwargs: (args, {"closure": lambda: 7.0}))
    assert opt.step() == 7.0


def test_step_pre_hook_with_a_bad_result():
    for lib, P in ((torch, _torch_param), (ember, _param)):
        opt = lib.optim.SGD([P(3)], lr=0.1)
        opt.register_step_pre_hook(lambda o, a, k: 5)
        with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, "
                                               r"new_kwargs\), but got 5\."):
            opt.step()


def test_global_step_hooks():
    from ember.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    seen = []
    h1 = register_optimizer_step_pre_hook(lambda o, a, k: seen.append("pre"))
    h2 = register_optimizer_step_post_hook(lambda o, a, k: seen.append("post"))
    try:
        ember.optim.Adam([_param(2)]).step()
    finally:
        h1.remove()
        h2.remove()
    ember.optim.Adam([_param(2)]).step()
    assert seen == ["pre", "post"]


def test_hooks_run_once_when_a_subclass_step_calls_super():
    class Logged(ember.optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    opt = Logged([_param(2)], lr=0.1)
    seen = []
    opt.register_step_pre_hook(lambda o, a, k: seen.append(1))
    opt.step()
    assert seen == [1]


def test_state_dict_hooks():
    p = _param(2)
    opt = ember.optim.SGD([p], lr=0.1, momentum=0.9)
    seen = []
    opt.register_state_dict_pre_hook(lambda o: seen.append("sd_pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    opt.register_load_state_dict_pre_hook(lambda o, sd: seen.append("load_pre"))
    opt.register_load_state_dict_post_hook(lambda o: seen.append("load_post"), prepend=True)
    sd = opt.state_dict()
    assert sd["extra"] == 1
    opt.load_state_dict(sd)
    assert seen == ["sd_pre", "load_pre", "load_post"]


def test_differentiable_is_refused():
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        ember.optim.SGD([_param(2)], differentiable=True)


def test_foreach_fused_capturable_are_kept_in_the_groups():
    opt = ember.optim.Adam([_param(2)], foreach=True, capturable=True)
    assert opt.param_groups[0]["foreach"] is True and opt.param_groups[0]["capturable"] is True
    assert ember.optim.SGD([_param(2)], fused=True).param_groups[0]["fused"] is True
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        ember.optim.Adam([_param(2)], fused=True, foreach=True)


def test_state_dict_shares_the_state_tensors_like_torch():
    p = _param(3)
    opt = ember.optim.Adam([p])
    p.grad = ember.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert sd["state"][0]["exp_avg"] is opt.state[p]["exp_avg"]
    assert sd["state"][0]["step"].dtype == ember.float32 and sd["state"][0]["step"].dim() == 0


def test_load_state_dict_casts_to_the_parameter_dtype_except_step():
    p = ember.nn.Parameter(ember.ones(3, dtype=ember.float64))
    opt = ember.optim.Adam([p])
    sd = {"state": {0: {"step": ember.tensor(2.0), "exp_avg": ember.ones(3),
                        "exp_avg_sq": ember.ones(3)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0], lr=0.5)]}
    opt.load_state_dict(sd)
    assert opt.state[p]["exp_avg"].dtype == ember.float64
    assert opt.state[p]["step"].dtype == ember.float32
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"] == [p]
    assert sd["param_groups"][0]["params"] == [0]  # the given dict is not changed


def test_load_state_dict_of_an_older_format():
    # a state saved with 'step' as a number and without newer options gets both filled in
    p = _param(3)
    opt = ember.optim.Adam([p], lr=0.1)
    group = {k: v for k, v in opt.state_dict()["param_groups"][0].items()
             if k not in ("decoupled_weight_decay", "fused")}
    opt.load_state_dict({"state": {0: {"step": 3, "exp_avg": ember.zeros(3),
                                       "exp_avg_sq": ember.zeros(3)}},
                         "param_groups": [group]})
    assert isinstance(opt.state[p]["step"], ember.Tensor) and opt.state[p]["step"].item() == 3.0
    assert opt.param_groups[0]["decoupled_weight_decay"] is False


def test_deepcopy_and_pickle():
    e_opt, t_opt, e_params, t_params = make_pair("Adam", {"lr": 0.1})
    run_steps(e_opt, t_opt, e_params, t_params, steps=2)
    clone = copy.deepcopy(e_opt)
    assert clone.state_dict()["state"][0]["exp_avg"].tolist() == \
        e_opt.state_dict()["state"][0]["exp_avg"].tolist()
    restored = pickle.loads(pickle.dumps(e_opt))
    assert repr(restored) == repr(e_opt)
    assert restored.register_step_pre_hook(lambda *a: None) is not None


def test_loading_a_torch_state_dict():
    """torch's state after 3 steps, converted to ember tensors, resumes identically."""
    e_opt, t_opt, e_params, t_params = make_pair("Adam", {"lr": 0.1, "amsgrad": True})
    load_torch_state(e_opt, t_opt, e_params, t_params, seed=3)
    assert_state_equal(e_opt.state_dict(), t_opt.state_dict())
    run_steps(e_opt, t_opt, e_params, t_params, steps=2)


def test_no_warnings_in_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e_opt, t_opt, e_params, t_params = make_pair("SGD", {"lr": 0.1})
        run_steps(e_opt, t_opt, e_params, t_params, steps=1)


def test_a_user_defined_optimizer():
    """The pattern of custom optimizers: defaults, groups, state, Tensor ops under no_grad."""
    results = []
    for lib in (ember, torch):
        class SignSGD(lib.optim.Optimizer):
            def __init__(self, params, lr=0.01):
                super().__init__(params, {"lr": lr})

            @lib.no_grad()
            def step(self, closure=None):
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            state = self.state[p]
                            state["n"] = state.get("n", 0) + 1
                            p.add_(p.grad.sign(), alpha=-group["lr"])

        x = lib.zeros(3, requires_grad=True)  # a plain leaf tensor, not a Parameter
        opt = SignSGD([x], lr=0.5)
        seen = []
        opt.register_step_post_hook(lambda o, a, k: seen.append(1))
        for _ in range(2):
            opt.zero_grad()
            ((x - lib.tensor([1.0, -2.0, 0.0])) ** 2).sum().backward()
            opt.step()
        results.append((x.detach().numpy().copy(), opt.state_dict(), len(seen)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] and results[0][2] == results[1][2] == 2
