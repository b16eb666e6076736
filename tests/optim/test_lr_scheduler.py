"""Every learning-rate scheduler against torch's: the lr (and momentum) sequences over 30 steps
must be the same floats; chaining, state dicts, the step-order warning and argument errors."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch

import ember
import ember.nn
import ember.optim


def _opt(lib, name="SGD", **kwargs):
    """An optimizer with two parameter groups of different learning rates."""
    groups = [{"params": [lib.nn.Parameter(lib.ones(2))]},
              {"params": [lib.nn.Parameter(lib.ones(3))], "lr": 0.05}]
    kwargs.setdefault("lr", 0.1)
    if name == "SGD":
        kwargs.setdefault("momentum", 0.9)
    return getattr(lib.optim, name)(groups, **kwargs)


def _snapshot(opt, sched):
    lrs = [g["lr"] for g in opt.param_groups]
    momenta = [g.get("momentum", g.get("betas")) for g in opt.param_groups]
    return lrs, momenta, list(sched.get_last_lr())


def _sequence(lib, make, opt_name="SGD", opt_kwargs=None, steps=30, metrics=None):
    opt = _opt(lib, opt_name, **(opt_kwargs or {}))
    sched = make(lib.optim.lr_scheduler, opt)
    out = [_snapshot(opt, sched)]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        out.append(_snapshot(opt, sched))
    return out


def _same_sequence(make, opt_name="SGD", opt_kwargs=None, steps=30, metrics=None):
    e = _sequence(ember, make, opt_name, opt_kwargs, steps, metrics)
    t = _sequence(torch, make, opt_name, opt_kwargs, steps, metrics)
    for i, (a, b) in enumerate(zip(e, t)):
        assert a == b, f"step {i}: ember {a} != torch {b}"
    return e


def _scale_fn(x):
    return 1 / (1.5 ** (x - 1))


SCHEDULERS = {
    "LambdaLR": lambda s, o: s.LambdaLR(o, lambda e: 0.95**e),
    "LambdaLR-per-group": lambda s, o: s.LambdaLR(o, [lambda e: 0.9**e, lambda e: 1 / (e + 1)]),
    "MultiplicativeLR": lambda s, o: s.MultiplicativeLR(o, lambda e: 0.9),
    "StepLR": lambda s, o: s.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.3),
    "ConstantLR": lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda s, o: s.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=12),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.93),
    "PolynomialLR": lambda s, o: s.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                              eta_min=0.01),
    "CosineAnnealingWarmRestarts-1": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=4),
    "CyclicLR-triangular": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda s, o: s.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=3,
                                                    step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range",
                                                  gamma=0.9, base_momentum=0.7),
    "CyclicLR-scale_fn": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=2,
                                                 scale_fn=_scale_fn, scale_mode="iterations"),
    "CyclicLR-no-momentum": lambda s, o: s.CyclicLR(o, 0.01, 0.1, step_size_up=5,
                                                    cycle_momentum=False),
    "OneCycleLR": lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=30),
    "OneCycleLR-linear-3phase": lambda s, o: s.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=6, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
    "OneCycleLR-no-momentum": lambda s, o: s.OneCycleLR(o, max_lr=0.3, total_steps=31,
                                                        cycle_momentum=False, div_factor=10.0),
    "SequentialLR": lambda s, o: s.SequentialLR(
        o, [s.ConstantLR(o, factor=0.5, total_iters=3), s.ExponentialLR(o, gamma=0.9),
            s.StepLR(o, step_size=4, gamma=0.5)], milestones=[5, 12]),
    "ChainedScheduler": lambda s, o: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.5, total_iters=4), s.ExponentialLR(o, gamma=0.9),
         s.CosineAnnealingLR(o, T_max=8)]),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    _same_sequence(SCHEDULERS[name])


@pytest.mark.parametrize("name", ["CyclicLR-triangular", "CyclicLR-exp_range", "OneCycleLR",
                                  "OneCycleLR-linear-3phase"])
def test_beta1_cycling_with_adam(name):
    seq = _same_sequence(SCHEDULERS[name], opt_name="Adam")
    assert len({m[0][0] for _, m, _ in seq}) > 1  # beta1 did change


def test_cycle_momentum_needs_momentum():
    for lib in (torch, ember):
        opt = lib.optim.Adadelta([lib.nn.Parameter(lib.ones(2))])
        with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
            lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1)


def test_two_schedulers_on_one_optimizer():
    def make(s, o):
        first = s.StepLR(o, step_size=3, gamma=0.5)
        second = s.CosineAnnealingLR(o, T_max=7, eta_min=0.002)

        class Both:  # steps both, as a training loop with two schedulers does
            def step(self):
                first.step()
                second.step()

            def get_last_lr(self):
                return second.get_last_lr()

        return Both()

    _same_sequence(make)


def test_reduce_lr_on_plateau():
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.92, 0.93, 0.5, 0.5, 0.5, 0.51, 0.52, 0.4, 0.4,
               0.4, 0.4, 0.4, 0.4, 0.39, 0.39, 0.39, 0.39, 0.39, 0.39, 0.1, 0.1, 0.1, 0.1, 0.1]
    configs = [
        {"patience": 2},
        {"patience": 1, "factor": 0.5, "cooldown": 2, "min_lr": [0.01, 0.02]},
        {"mode": "max", "patience": 0, "threshold": 0.05},
        {"threshold_mode": "abs", "threshold": 0.05, "patience": 1, "eps": 1e-3},
        {"mode": "max", "threshold_mode": "abs", "patience": 3, "min_lr": 0.004},
    ]
    for config in configs:
        _same_sequence(lambda s, o, c=config: s.ReduceLROnPlateau(o, **c), metrics=metrics)
        _same_sequence(lambda s, o, c=config: s.ReduceLROnPlateau(o, **c),
                       metrics=[ember.tensor(m) for m in metrics])


def _resume(lib, make, steps_before=10, steps_after=10):
    """Train ``steps_before`` steps, save optimizer and scheduler, resume in fresh objects."""
    opt = _opt(lib)
    sched = make(lib.optim.lr_scheduler, opt)
    for _ in range(steps_before):
        opt.step()
        sched.step()
    opt_sd, sched_sd = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    fresh_opt = _opt(lib)
    fresh = make(lib.optim.lr_scheduler, fresh_opt)
    fresh_opt.load_state_dict(opt_sd)
    fresh.load_state_dict(sched_sd)
    out = []
    for _ in range(steps_after):
        fresh_opt.step()
        fresh.step()
        out.append([g["lr"] for g in fresh_opt.param_groups])
    return out, sched_sd


@pytest.mark.parametrize("name", [n for n in SCHEDULERS if "LambdaLR" not in n
                                  and "scale_fn" not in n])
def test_state_dict_round_trip(name):
    e_lrs, e_sd = _resume(ember, SCHEDULERS[name])
    t_lrs, t_sd = _resume(torch, SCHEDULERS[name])
    assert e_lrs == t_lrs
    assert set(e_sd) == set(t_sd)


def test_lambda_state_dict_keeps_callable_objects_state():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    sd["lr_lambdas"][0]["rate"] = 0.25
    sched.load_state_dict(sd)
    assert sched.lr_lambdas[0].rate == 0.25


def test_cosine_annealing_resumed_with_last_epoch():
    def make(s, o):
        for g in o.param_groups:
            g["initial_lr"] = g["lr"]
        return s.CosineAnnealingLR(o, T_max=10, last_epoch=4)

    _same_sequence(make, steps=12)


def test_closed_form_with_an_epoch_argument():
    for name in ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                 "ConstantLR", "PolynomialLR"]:
        seqs = []
        for lib in (ember, torch):
            opt = _opt(lib)
            sched = SCHEDULERS[name](lib.optim.lr_scheduler, opt)
            opt.step()
            seq = []
            for epoch in [3, 7, 2, 15]:
                with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step"):
                    sched.step(epoch)
                seq.append(sched.get_last_lr())
            seqs.append(seq)
        assert seqs[0] == seqs[1], name


def test_warm_restarts_with_fractional_epochs():
    def run(lib):
        opt = _opt(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
        out = []
        for epoch in range(12):
            for i in range(4):
                opt.step()
                sched.step(epoch + i / 4)
                out.append(sched.get_last_lr())
        return out

    assert run(ember) == run(torch)
    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


def test_step_before_optimizer_step_warns():
    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                                         r"`optimizer.step\(\)`"):
        sched.step()
    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step = lambda closure=None: None  # replaced after the scheduler was made
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been overridden"):
        sched.step()
    opt = _opt(ember)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_get_lr_outside_step_warns():
    sched = ember.optim.lr_scheduler.StepLR(_opt(ember), step_size=2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_initial_lr_and_base_lrs():
    for lib in (ember, torch):
        opt = _opt(lib)
        sched = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        assert sched.base_lrs == [0.1, 0.05] and sched.last_epoch == 0
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]


def test_tensor_learning_rates_are_filled_in_place():
    opt = ember.optim.SGD([ember.nn.Parameter(ember.ones(2))], lr=ember.tensor(0.1))
    lr = opt.param_groups[0]["lr"]
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr and math.isclose(lr.item(), 0.05, rel_tol=1e-6)


ERRORS = [
    lambda s, o: s.LambdaLR(o, [lambda e: 1.0]),
    lambda s, o: s.MultiplicativeLR(o, [1.0, 2.0]),
    lambda s, o: s.ConstantLR(o, factor=1.5),
    lambda s, o: s.LinearLR(o, start_factor=0),
    lambda s, o: s.LinearLR(o, end_factor=2.0),
    lambda s, o: s.StepLR("not an optimizer", 3),
    lambda s, o: s.StepLR(o, 3, last_epoch=4),
    lambda s, o: s.SequentialLR(o, [], milestones=[]),
    lambda s, o: s.SequentialLR(o, [s.StepLR(o, 3)], milestones=[2]),
    lambda s, o: s.SequentialLR(o, [s.ReduceLROnPlateau(o), s.StepLR(o, 3)], milestones=[2]),
    lambda s, o: s.ChainedScheduler([]),
    lambda s, o: s.ReduceLROnPlateau(o, factor=1.0),
    lambda s, o: s.ReduceLROnPlateau(o, mode="middle"),
    lambda s, o: s.ReduceLROnPlateau(o, threshold_mode="pct"),
    lambda s, o: s.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda s, o: s.CyclicLR(o, 0.01, 0.1, mode="square"),
    lambda s, o: s.CyclicLR(o, [0.01], 0.1),
    lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"),
    lambda s, o: s.OneCycleLR(o, max_lr=0.1),
    lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=0),
    lambda s, o: s.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=2),
    lambda s, o: s.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1),
    lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
    lambda s, o: s.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
]


@pytest.mark.parametrize("make", ERRORS)
def test_errors_like_torch(make):
    with pytest.raises(Exception) as t_info:
        make(torch.optim.lr_scheduler, _opt(torch))
    with pytest.raises(type(t_info.value)) as e_info:
        make(ember.optim.lr_scheduler, _opt(ember))
    assert str(e_info.value) == str(t_info.value)


def test_one_cycle_past_its_end():
    for lib in (torch, ember):
        opt = _opt(lib)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2)
        opt.step()
        sched.step()
        sched.step()
        with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of "
                                             "total steps is 2"):
            sched.step()
