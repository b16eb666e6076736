"""Every optimizer and option combination against torch: the same parameters and gradients, step
after step, parameters and whole state compared; groups, resuming from a state dict, validation."""

from __future__ import annotations

import copy

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

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.1}),
    ("Adam", {"lr": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "betas": (0.3, 0.5), "eps": 1e-3}),  # lerp from the far end
    ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.1}),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.1, "maximize": True}),
    ("Adamax", {"lr": 0.1}),
    ("Adamax", {"lr": 0.1, "weight_decay": 0.1, "betas": (0.8, 0.9)}),
    ("Adamax", {"lr": 0.1, "maximize": True, "eps": 1e-3}),
    ("NAdam", {"lr": 0.1}),
    ("NAdam", {"lr": 0.1, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.1, "momentum_decay": 0.1, "maximize": True}),
    ("RAdam", {"lr": 0.1}),
    ("RAdam", {"lr": 0.1, "betas": (0.5, 0.9)}),
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1, "betas": (0.5, 0.6)}),  # never rectified
    ("RAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4}),
    ("Adadelta", {"weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-3, "maximize": True}),
    ("ASGD", {"lr": 0.1}),
    ("ASGD", {"lr": 0.1, "t0": 2, "lambd": 0.1, "alpha": 0.5}),  # averaging starts at step 3
    ("ASGD", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("Rprop", {"lr": 0.1}),
    ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (0.05, 0.2)}),  # clamped steps
    ("Rprop", {"lr": 0.1, "maximize": True}),
]

def _steps(name):
    return 8 if name == "RAdam" else 5  # RAdam rectifies its step from step 6 on (rho_t > 5)


def _ids(cases):
    return [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in cases]


@pytest.mark.parametrize("name,kwargs", CASES, ids=_ids(CASES))
def test_steps_match_torch_float32(name, kwargs):
    run_steps(*make_pair(name, kwargs), steps=_steps(name))


@pytest.mark.parametrize("name,kwargs", CASES, ids=_ids(CASES))
def test_steps_match_torch_float64(name, kwargs):
    run_steps(*make_pair(name, kwargs, dtype="float64"), steps=_steps(name), rtol=1e-12,
              atol=1e-14)


NAMES = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adadelta", "Adagrad",
         "ASGD", "Rprop"]


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_gradients_are_left_alone(name):
    kwargs = {"SGD": {"lr": 0.1, "momentum": 0.9}, "RMSprop": {"lr": 0.01, "momentum": 0.9}}
    run_steps(*make_pair(name, kwargs.get(name, {"lr": 0.1})), steps=3, skip=(1,))


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_options(name):
    groups = [([0], {"lr": 0.05}), ([1, 2], {"weight_decay": 0.1})]
    kwargs = {"lr": 0.2, "momentum": 0.9} if name == "SGD" else {"lr": 0.2}
    run_steps(*make_pair(name, kwargs, groups=groups), steps=4)


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_a_group_added_later(name):
    e_opt, t_opt, e_params, t_params = make_pair(name, {"lr": 0.1}, groups=[([0, 1], {})])
    run_steps(e_opt, t_opt, e_params, t_params, steps=2, skip=(2,))
    e_opt.add_param_group({"params": [e_params[2]], "lr": 0.3})
    t_opt.add_param_group({"params": [t_params[2]], "lr": 0.3})
    run_steps(e_opt, t_opt, e_params, t_params, steps=2)


def test_adagrad_creates_its_state_up_front():
    e_opt, t_opt, _, _ = make_pair("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.25})
    assert_state_equal(e_opt.state_dict(), t_opt.state_dict())


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
                                  "Adadelta", "Adagrad", "ASGD", "Rprop", "SGD"])
def test_complex_parameters(name):
    kwargs = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.1}
    run_steps(*make_pair(name, kwargs, shapes=[(3, 2), ()], dtype="complex64"), steps=3,
              rtol=1e-5, atol=1e-6)


RESUME_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", {"lr": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.1}),
    ("Adamax", {"lr": 0.1}),
    ("NAdam", {"lr": 0.1}),
    ("RAdam", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Adadelta", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("ASGD", {"lr": 0.1, "t0": 1}),
    ("Rprop", {"lr": 0.1}),
]


def _grads(e_params, rng):
    for p in e_params:
        p.grad = ember.from_numpy(rng.uniform(-1, 1, tuple(p.shape)).astype(np.float32))


@pytest.mark.parametrize("name,kwargs", RESUME_CASES, ids=_ids(RESUME_CASES))
def test_state_dict_round_trip_resumes_identically(name, kwargs):
    """3 steps, save, load into a fresh optimizer over copied parameters, 2 more steps: the same
    as 5 uninterrupted steps (bit for bit); the saved layout is torch's."""
    e_opt, t_opt, e_params, t_params = make_pair(name, kwargs)
    run_steps(e_opt, t_opt, e_params, t_params, steps=3)
    saved = copy.deepcopy(e_opt.state_dict())
    assert_state_equal(saved, t_opt.state_dict())
    fresh_params = [ember.nn.Parameter(p.detach().clone()) for p in e_params]
    fresh = getattr(ember.optim, name)(fresh_params, **kwargs)
    fresh.load_state_dict(saved)
    rng = np.random.default_rng(7)
    for _ in range(2):
        seed = rng.integers(1 << 30)
        _grads(e_params, np.random.default_rng(seed))
        _grads(fresh_params, np.random.default_rng(seed))
        e_opt.step()
        fresh.step()
    for a, b in zip(e_params, fresh_params):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name,kwargs", RESUME_CASES, ids=_ids(RESUME_CASES))
def test_resuming_from_a_torch_state_dict(name, kwargs):
    e_opt, t_opt, e_params, t_params = make_pair(name, kwargs)
    load_torch_state(e_opt, t_opt, e_params, t_params, seed=5)
    assert_params_equal(e_params, t_params)
    run_steps(e_opt, t_opt, e_params, t_params, steps=2)


def _p(lib):
    return [lib.nn.Parameter(lib.ones(2))]


ERRORS = [
    ("SGD", {"lr": -0.1}), ("SGD", {"momentum": -0.5}), ("SGD", {"weight_decay": -1.0}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -1.0}), ("Adam", {"eps": -1e-8}), ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, -0.1)}), ("Adam", {"weight_decay": -0.1}),
    ("Adam", {"betas": (0, 0.9)}), ("AdamW", {"betas": (0.9, 1.5)}), ("AdamW", {"lr": -1e-3}),
    ("Adamax", {"lr": -1.0}), ("Adamax", {"eps": -1.0}), ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"weight_decay": -1.0}),
    ("NAdam", {"lr": -1.0}), ("NAdam", {"betas": (0.9, 1.0)}), ("NAdam", {"momentum_decay": -1}),
    ("NAdam", {"weight_decay": -1.0}), ("NAdam", {"eps": -1.0}),
    ("RAdam", {"lr": -1.0}), ("RAdam", {"betas": (-0.1, 0.9)}), ("RAdam", {"eps": -1.0}),
    ("RAdam", {"weight_decay": -1.0}),
    ("RMSprop", {"lr": -1.0}), ("RMSprop", {"eps": -1.0}), ("RMSprop", {"momentum": -1.0}),
    ("RMSprop", {"weight_decay": -1.0}), ("RMSprop", {"alpha": -1.0}),
    ("Adadelta", {"lr": -1.0}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"eps": -1.0}),
    ("Adadelta", {"weight_decay": -1.0}),
    ("Adagrad", {"lr": -1.0}), ("Adagrad", {"lr_decay": -1.0}), ("Adagrad", {"eps": -1.0}),
    ("Adagrad", {"weight_decay": -1.0}), ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("ASGD", {"lr": -1.0}), ("ASGD", {"weight_decay": -1.0}),
    ("Rprop", {"lr": -1.0}), ("Rprop", {"etas": (1.5, 1.2)}), ("Rprop", {"etas": (0.5, 0.9)}),
    ("LBFGS", {"lr": -1.0}),
]


@pytest.mark.parametrize("name,kwargs", ERRORS, ids=_ids(ERRORS))
def test_validation_errors_like_torch(name, kwargs):
    with pytest.raises(Exception) as t_info:
        getattr(torch.optim, name)(_p(torch), **kwargs)
    with pytest.raises(type(t_info.value)) as e_info:
        getattr(ember.optim, name)(_p(ember), **kwargs)
    assert str(e_info.value) == str(t_info.value)


def test_tensor_lr():
    e_opt, t_opt, e_params, t_params = make_pair("Adam", {"lr": 0.1})
    e_opt.param_groups[0]["lr"] = ember.tensor(0.05)
    t_opt.param_groups[0]["lr"] = torch.tensor(0.05)
    rng = np.random.default_rng(0)
    from optim_check import set_grads

    for _ in range(2):
        set_grads(e_params, t_params, rng)
        e_opt.step()
        t_opt.step()
    assert_params_equal(e_params, t_params)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        ember.optim.SGD(_p(ember), lr=ember.ones(2))


def test_training_a_small_model_matches_torch():
    """A linear model trained with Adam for a few steps: losses and weights as torch's."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    w = rng.standard_normal((1, 4)).astype(np.float32)
    results = []
    for lib in (ember, torch):
        model = lib.nn.Linear(4, 1)
        with lib.no_grad():
            model.weight.copy_(lib.from_numpy(w.copy()))
            model.bias.zero_()
        opt = lib.optim.Adam(model.parameters(), lr=0.05)
        losses = []
        for _ in range(10):
            opt.zero_grad()
            loss = ((model(lib.from_numpy(x)) - lib.from_numpy(y)) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        results.append((losses, model.weight.detach().numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


def test_scalar_state_follows_a_float64_default_dtype():
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        e_opt, t_opt, e_params, t_params = make_pair("NAdam", {"lr": 0.1}, dtype="float64")
        run_steps(e_opt, t_opt, e_params, t_params, steps=2, rtol=1e-12, atol=1e-14)
        assert e_opt.state[e_params[0]]["mu_product"].dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)
