"""Grad mode switches against torch: context managers, decorators (incl. generators and the bare
``@no_grad``), set_grad_enabled as a function, inference_mode, and thread-locality."""

import threading

import pytest
import torch

import ember

LIBS = [ember, torch]


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    yield
    assert ember.is_grad_enabled() and torch.is_grad_enabled()


def x_of(m):
    return m.tensor([1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_no_grad_context(m):
    x = x_of(m)
    with m.no_grad():
        assert not m.is_grad_enabled()
        y = x * 2
        with m.enable_grad():
            assert m.is_grad_enabled()
            z = x * 2
    assert m.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_mode_is_restored_after_an_exception(m):
    with pytest.raises(ValueError):
        with m.no_grad():
            raise ValueError
    assert m.is_grad_enabled()
    with m.no_grad():
        with pytest.raises(ValueError):
            with m.enable_grad():
                raise ValueError
        assert not m.is_grad_enabled()


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_decorators_with_and_without_parentheses(m):
    @m.no_grad()
    def f1(x):
        """doc"""
        return x * 2, m.is_grad_enabled()

    @m.no_grad
    def f2(x):
        return x * 2

    @m.inference_mode()
    def f3(x):
        return x * 2, m.is_inference_mode_enabled()

    @m.inference_mode
    def f4(x):
        return x * 2

    x = x_of(m)
    y, enabled = f1(x)
    assert not y.requires_grad and not enabled and f1.__doc__ == "doc" and f1.__name__ == "f1"
    assert not f2(x).requires_grad
    y, inf = f3(x)
    assert not y.requires_grad and inf
    assert not f4(x).requires_grad
    assert not m.is_inference_mode_enabled()

    with m.no_grad():
        @m.enable_grad()
        def g1(x):
            return x * 2

        @m.enable_grad
        def g2(x):
            return x * 2

        assert g1(x).requires_grad and g2(x).requires_grad


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_set_grad_enabled_as_function_context_and_decorator(m):
    x = x_of(m)
    m.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        m.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with m.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert m.is_grad_enabled()
    with m.set_grad_enabled(True):
        assert (x * 2).requires_grad
    with m.no_grad():
        with m.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not m.is_grad_enabled()

    @m.set_grad_enabled(False)
    def f(x):
        return x * 2

    assert m.is_grad_enabled(), "decorating must not switch grad mode off where it is written"
    assert not f(x).requires_grad
    assert m.is_grad_enabled()


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_inference_mode(m):
    x = x_of(m)
    with m.inference_mode():
        assert m.is_inference_mode_enabled() and not m.is_grad_enabled()
        assert not (x * 2).requires_grad
        with m.inference_mode(False):
            assert not m.is_inference_mode_enabled()
    assert not m.is_inference_mode_enabled() and m.is_grad_enabled()
    with m.inference_mode(False):
        assert (x * 2).requires_grad


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_generator_decorated_switches_mode_only_inside(m):
    x = x_of(m)

    @m.no_grad()
    def gen(n):
        for _ in range(n):
            got = yield (x * 2).requires_grad, m.is_grad_enabled()
            assert got in (None, "ping")
        return "done"

    outside = []
    it = gen(3)
    for inner in it:
        outside.append(m.is_grad_enabled())
        assert inner == (False, False)
    assert outside == [True, True, True]

    it = gen(2)
    assert next(it) == (False, False)
    assert it.send("ping") == (False, False)
    with pytest.raises(StopIteration) as stop:
        it.send("ping")
    assert stop.value.value == "done"
    assert m.is_grad_enabled()


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_generator_throw_and_close(m):
    seen = []

    @m.no_grad
    def gen():
        try:
            yield 1
        except KeyError:
            seen.append(("caught", m.is_grad_enabled()))
            yield 2
        finally:
            seen.append(("closed", m.is_grad_enabled()))

    it = gen()
    assert next(it) == 1
    assert it.throw(KeyError()) == 2
    it.close()
    assert seen == [("caught", False), ("closed", False)]
    assert m.is_grad_enabled()

    @m.no_grad()
    def empty():
        return
        yield

    assert list(empty()) == []


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_method_decorator(m):
    class Model:
        @m.no_grad()
        def predict(self, x):
            return x * 2

    assert not Model().predict(x_of(m)).requires_grad


@pytest.mark.parametrize("m", LIBS, ids=["ember", "torch"])
def test_grad_mode_is_thread_local(m):
    results = {}

    def worker():
        results["start"] = m.is_grad_enabled()
        m.set_grad_enabled(False)
        results["inside"] = m.is_grad_enabled()

    with m.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not m.is_grad_enabled()
    assert results == {"start": True, "inside": False}
    assert m.is_grad_enabled()


def test_inplace_under_no_grad_on_leaf_is_allowed_and_unrecorded():
    for m in LIBS:
        w = x_of(m)
        with m.no_grad():
            w.sub_(w * 0.5)
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        assert w.tolist() == [0.5, 1.0]
        (w * 2).sum().backward()
        assert w.grad.tolist() == [2.0, 2.0]


def test_backward_runs_without_recording_unless_create_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append((g.requires_grad, ember.is_grad_enabled())))
    (x * x).sum().backward()
    (g,) = ember.autograd.grad((x * x).sum(), x, create_graph=True)
    assert seen == [(False, False), (True, True)]
    assert g.requires_grad and ember.is_grad_enabled()


def test_backward_inside_no_grad_still_computes_grads():
    for m in LIBS:
        x = x_of(m)
        y = (x * x).sum()
        with m.no_grad():
            y.backward()
        assert x.grad.tolist() == [2.0, 4.0]


def test_ember_autograd_namespace():
    for name in ("no_grad", "enable_grad", "set_grad_enabled", "inference_mode"):
        assert getattr(ember.autograd, name) is getattr(ember, name)
    assert ember.autograd.grad_mode.no_grad is ember.no_grad
