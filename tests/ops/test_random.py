"""Random numbers: shapes, dtypes, ranges, errors (as torch), seeding, generator state, and loose
statistics of each distribution. ember's streams are not torch's, so values are never compared."""

import numpy as np
import pytest
import torch
from reference import same_error

import ember
import ember.random

N = 20000  # samples for the statistics: standard errors ~ 1/sqrt(N) = 0.007


@pytest.mark.parametrize("fn", [
    lambda m: m.rand(2, 3), lambda m: m.rand((2, 3)), lambda m: m.rand([2, 3]),
    lambda m: m.rand(size=(2, 3)), lambda m: m.randn(4), lambda m: m.randn(()),
    lambda m: m.rand(2, dtype=m.float64), lambda m: m.randn(2, 1, dtype=m.float16),
    lambda m: m.randint(5, (3,)), lambda m: m.randint(2, 5, (3, 2)),
    lambda m: m.randint(high=5, size=(3,)), lambda m: m.randint(low=1, high=5, size=[2]),
    lambda m: m.randint(0, 2, (3,), dtype=m.bool), lambda m: m.randint(2, 5, (3,), dtype=m.float32),
    lambda m: m.randint(0, 100, (3,), dtype=m.uint8), lambda m: m.randperm(5),
    lambda m: m.randperm(4, dtype=m.float32), lambda m: m.randperm(0),
    lambda m: m.normal(0.0, 1.0, (2, 3)), lambda m: m.normal(2.0, 3.0, (2,), dtype=m.float64),
    lambda m: m.normal(m.zeros(2, 1), m.ones(3)), lambda m: m.normal(m.zeros(3), 2.0),
    lambda m: m.normal(0.0, m.ones(3, dtype=m.float64)),
    lambda m: m.bernoulli(m.full((3, 2), 0.3)), lambda m: m.bernoulli(m.zeros(3), 0.5),
    lambda m: m.multinomial(m.ones(4), 2), lambda m: m.multinomial(m.ones(3, 4), 6, True),
    lambda m: m.poisson(m.ones(2, 2, dtype=m.float64)), lambda m: m.rand_like(m.zeros(2, 3)),
    lambda m: m.randn_like(m.zeros(2, dtype=m.float64)),
    lambda m: m.randint_like(m.zeros(3, dtype=m.int32), 5),
    lambda m: m.randint_like(m.zeros(3), 2, 5), lambda m: m.rand(2, requires_grad=True),
    lambda m: m.ones(3).bernoulli(), lambda m: m.ones(3).multinomial(2),
])
def test_shape_dtype_and_requires_grad_match_torch(fn):
    e, t = fn(ember), fn(torch)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dtype.name == str(t.dtype).split(".")[1]
    assert e.requires_grad == t.requires_grad


@pytest.mark.parametrize("fn", [
    lambda m: m.rand(2, dtype=m.int64), lambda m: m.randn(2, dtype=m.int32), lambda m: m.rand(),
    lambda m: m.rand(-1), lambda m: m.randint(5, 5, (3,)), lambda m: m.randint(5, 3),
    lambda m: m.randint(0, 1000, (3,), dtype=m.int8), lambda m: m.randperm(-1),
    lambda m: m.normal(0.0, 1.0), lambda m: m.normal(0.0, -1.0, (2,)),
    lambda m: m.normal(m.zeros(2), -m.ones(2)), lambda m: m.normal(m.zeros(2, dtype=m.int64), 1.0),
    lambda m: m.bernoulli(m.full((3,), 1.5)), lambda m: m.bernoulli(m.ones(3, dtype=m.int64)),
    lambda m: m.multinomial(m.ones(4), 5), lambda m: m.multinomial(m.ones(4), 0),
    lambda m: m.multinomial(m.tensor([1.0, -1.0]), 1), lambda m: m.multinomial(m.zeros(3), 1),
    lambda m: m.multinomial(m.ones(2, 2, 2), 1),
    lambda m: m.multinomial(m.ones(2, dtype=m.int64), 1),
    lambda m: m.multinomial(m.tensor([1.0, float("nan")]), 1),
    lambda m: m.poisson(-m.ones(3)), lambda m: m.poisson(m.ones(3, dtype=m.int64)),
    lambda m: m.rand_like(m.zeros(3, dtype=m.int64)),
    lambda m: m.zeros(3, dtype=m.int64).uniform_(), lambda m: m.zeros(3).uniform_(2, 1),
    lambda m: m.zeros(3, dtype=m.int64).normal_(), lambda m: m.zeros(3).normal_(0, -1),
    lambda m: m.zeros(3, dtype=m.int64).exponential_(), lambda m: m.zeros(3).exponential_(0),
    lambda m: m.zeros(3).geometric_(1.5), lambda m: m.zeros(3, dtype=m.int64).cauchy_(),
    lambda m: m.zeros(3, dtype=m.int64).log_normal_(), lambda m: m.zeros(3).log_normal_(1, -2),
    lambda m: m.zeros(3).random_(5, 2), lambda m: m.zeros(3, dtype=m.int8).random_(0, 1000),
    lambda m: m.zeros(3).bernoulli_(1.5), lambda m: m.zeros(3, requires_grad=True).normal_(),
    lambda m: m.zeros(3, requires_grad=True).uniform_(),
    lambda m: m.Generator().manual_seed(1.5), lambda m: m.manual_seed(2 ** 64),
    lambda m: m.Generator().set_state(m.zeros(3, dtype=m.uint8)),
    lambda m: m.Generator().set_state(m.zeros(3)),
])
def test_errors_match_torch(fn):
    same_error(lambda m: fn(m), [])


def test_error_messages_people_search_for():
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        ember.randint(5, 5, (3,))
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        ember.multinomial(ember.ones(4), 5)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        ember.zeros(3, requires_grad=True).normal_()


def test_manual_seed_is_deterministic_and_returns_the_default_generator():
    g = ember.manual_seed(123)
    assert g is ember.default_generator and ember.initial_seed() == 123
    a = (ember.rand(5), ember.randn(5), ember.randint(10, (5,)), ember.randperm(5))
    ember.manual_seed(123)
    b = (ember.rand(5), ember.randn(5), ember.randint(10, (5,)), ember.randperm(5))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    c = ember.rand(5)
    assert not np.array_equal(c.numpy(), a[0].numpy())


def test_seed_wrapping_and_defaults():
    ember.manual_seed(-1)
    assert ember.initial_seed() == 2 ** 64 - 1 == torch.manual_seed(-1).initial_seed()
    ember.manual_seed(1.7)  # torch.manual_seed casts with int()
    assert ember.initial_seed() == 1
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()
    s = ember.seed()
    assert isinstance(s, int) and ember.initial_seed() == s and 0 <= s < 2 ** 64
    assert ember.Generator().device == ember.device("cpu")
    assert ember.Generator().manual_seed(5).initial_seed() == 5


def test_generators_are_independent_of_each_other_and_of_the_default():
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    a = ember.rand(4, generator=g1)
    ember.rand(100)  # the default generator moving does not move g2
    b = ember.rand(4, generator=g2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = ember.rand(4, generator=ember.Generator().manual_seed(8))
    assert not np.array_equal(a.numpy(), c.numpy())


def test_state_save_and_restore():
    g = ember.Generator().manual_seed(11)
    ember.randn(3, generator=g)  # leave a cached half of a 64-bit draw, if any
    state = g.get_state()
    assert state.dtype is ember.uint8 and state.ndim == 1
    a = (ember.rand(4, generator=g), ember.randn(3, generator=g), ember.randperm(6, generator=g))
    assert g.set_state(state) is g
    b = (ember.rand(4, generator=g), ember.randn(3, generator=g), ember.randperm(6, generator=g))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert g.initial_seed() == 11
    other = ember.Generator().set_state(state)
    np.testing.assert_array_equal(ember.rand(4, generator=other).numpy(), a[0].numpy())


def test_global_rng_state_and_fork_rng():
    ember.manual_seed(0)
    s = ember.get_rng_state()
    a = ember.rand(3)
    ember.set_rng_state(s)
    np.testing.assert_array_equal(ember.rand(3).numpy(), a.numpy())
    s = ember.random.get_rng_state()
    with ember.random.fork_rng():
        ember.rand(10)
    np.testing.assert_array_equal(ember.random.get_rng_state().numpy(), s.numpy())


def test_inplace_samplers_fill_bump_version_and_keep_identity():
    x = ember.zeros(3, 4)
    v = x._version
    for call in (lambda: x.uniform_(-2, 3), lambda: x.normal_(1, 2), lambda: x.random_(0, 5),
                 lambda: x.bernoulli_(0.3), lambda: x.exponential_(2.0), lambda: x.geometric_(0.3),
                 lambda: x.cauchy_(), lambda: x.log_normal_(), lambda: x.bernoulli_(ember.rand(4))):
        assert call() is x
        assert x.dtype is ember.float32 and x.shape == (3, 4)
    assert x._version == v + 9
    with ember.no_grad():
        w = ember.zeros(3, requires_grad=True)
        w.uniform_(-1, 1)
    assert w.requires_grad and w.is_leaf and (np.abs(w.detach().numpy()) <= 1).all()


def test_inplace_sampler_on_a_non_leaf_passes_zero_gradient_like_torch():
    for m in (ember, torch):
        x = m.ones(3, requires_grad=True)
        y = x * 2
        y.normal_()
        (y * 3).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3, np.float32))


def test_sampling_from_tensors_gives_zero_gradients_like_torch():
    for m in (ember, torch):
        mean = m.zeros(3, requires_grad=True)
        std = m.ones(3, requires_grad=True)
        y = m.normal(mean, std)
        assert y.requires_grad
        y.sum().backward()
        np.testing.assert_array_equal(mean.grad.numpy(), np.zeros(3, np.float32))
        p = m.full((3,), 0.5, requires_grad=True)
        b = m.bernoulli(p)
        assert b.requires_grad and b.grad_fn is not None


def test_ranges_and_values():
    x = ember.rand(N).numpy()
    assert x.min() >= 0 and x.max() < 1
    h = ember.rand(N, dtype=ember.float16).numpy()
    assert h.min() >= 0 and h.max() < 1  # rounding a float32 sample could produce 1.0
    i = ember.randint(-3, 4, (N,)).numpy()
    assert set(np.unique(i)) == set(range(-3, 4))
    p = ember.randperm(50).numpy()
    np.testing.assert_array_equal(np.sort(p), np.arange(50))
    f = ember.zeros(N).random_().numpy()
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.round(f))
    assert set(np.unique(ember.zeros(100, dtype=ember.bool).random_().numpy())) == {False, True}
    u8 = ember.zeros(N, dtype=ember.uint8).random_().numpy()
    assert u8.max() > 250 and u8.min() < 5
    r = ember.zeros(N, dtype=ember.int64).random_(7).numpy()
    assert r.min() == 0 and r.max() == 6
    r = ember.zeros(N).random_(**{"from": 3}).numpy()
    assert r.min() >= 3 and r.max() > 2 ** 23
    g = ember.zeros(N).geometric_(0.5).numpy()
    assert g.min() == 1
    b = ember.bernoulli(ember.tensor([0.0, 1.0, 0.0, 1.0])).numpy()
    np.testing.assert_array_equal(b, [0, 1, 0, 1])


def _close(value, expected, tol):
    assert abs(value - expected) < tol, (value, expected)


def test_distribution_statistics():
    ember.manual_seed(2024)
    x = ember.rand(N, dtype=ember.float64).numpy()
    _close(x.mean(), 0.5, 0.02)
    _close(x.var(), 1 / 12, 0.01)
    x = ember.randn(N).numpy()
    _close(x.mean(), 0.0, 0.03)
    _close(x.std(), 1.0, 0.03)
    x = ember.normal(3.0, 2.0, (N,)).numpy()
    _close(x.mean(), 3.0, 0.06)
    _close(x.std(), 2.0, 0.06)
    x = ember.normal(ember.full((N,), -1.0), ember.full((N,), 0.5)).numpy()
    _close(x.mean(), -1.0, 0.02)
    _close(x.std(), 0.5, 0.02)
    x = ember.empty(N).uniform_(-2, 4).numpy()
    assert x.min() >= -2 and x.max() < 4
    _close(x.mean(), 1.0, 0.1)
    x = ember.empty(N).normal_(5, 0.1).numpy()
    _close(x.mean(), 5.0, 0.01)
    _close(x.std(), 0.1, 0.005)
    x = ember.empty(N).exponential_(4.0).numpy()
    _close(x.mean(), 0.25, 0.01)
    x = ember.empty(N).geometric_(0.25).numpy()
    _close(x.mean(), 4.0, 0.15)
    x = ember.empty(N).log_normal_(0.0, 0.5).numpy()
    _close(np.log(x).mean(), 0.0, 0.02)
    x = ember.empty(N).cauchy_(1.0, 2.0).numpy()
    _close(np.median(x), 1.0, 0.1)
    x = ember.bernoulli(ember.full((N,), 0.3)).numpy()
    _close(x.mean(), 0.3, 0.02)
    x = ember.empty(N).bernoulli_(0.7).numpy()
    _close(x.mean(), 0.7, 0.02)
    x = ember.poisson(ember.full((N,), 3.0)).numpy()
    _close(x.mean(), 3.0, 0.06)
    _close(x.var(), 3.0, 0.15)
    x = ember.randint(0, 10, (N,)).numpy()
    _close(x.mean(), 4.5, 0.1)


def test_multinomial_frequencies():
    ember.manual_seed(5)
    p = np.array([0.1, 0.2, 0.0, 0.7])
    s = ember.multinomial(ember.tensor(p), N, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(s, minlength=4) / N, p, atol=0.02)
    rows = ember.multinomial(ember.tensor(np.stack([p, p[::-1].copy()])), 1000, True).numpy()
    assert rows.shape == (2, 1000) and (rows[0] != 2).all() and (rows[1] != 1).all()
    # Without replacement: the first pick follows p, every row is distinct, zeros come last.
    draws = ember.multinomial(ember.tensor(p).expand(4000, 4), 3).numpy()
    assert all(len(set(r)) == 3 for r in draws)
    assert (draws[:, :3] != 2).all()
    np.testing.assert_allclose(np.bincount(draws[:, 0], minlength=4) / 4000, p, atol=0.03)
    # The second pick given the first: P(second = 1 | first = 3) = 0.2 / 0.3.
    first3 = draws[draws[:, 0] == 3]
    _close((first3[:, 1] == 1).mean(), 2 / 3, 0.05)
    assert ember.multinomial(ember.tensor([1.0, 0.0, 0.0]), 2).tolist()[0] == 0


def test_out_and_requires_grad():
    out = ember.empty(2, 3)
    r = ember.rand(2, 3, out=out)
    assert r is out and (out.numpy() >= 0).all()
    x = ember.randn(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    ints = ember.empty(4, dtype=ember.int64)
    ember.randint(0, 3, (4,), out=ints)
    assert ints.numpy().max() < 3


def test_normal_broadcasts_and_takes_the_tensor_dtype():
    y = ember.normal(ember.zeros(2, 1, dtype=ember.float64), ember.ones(3, dtype=ember.float64))
    assert y.shape == (2, 3) and y.dtype is ember.float64
    y = ember.normal(ember.zeros(4), 0.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros(4, np.float32))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_samplers(dtype):
    d = getattr(ember, dtype)
    x = ember.rand(N, dtype=d).float().numpy()
    assert x.min() >= 0 and x.max() < 1 and abs(x.mean() - 0.5) < 0.02
    y = ember.randn(N, dtype=d).float().numpy()
    assert abs(y.std() - 1) < 0.05
    z = ember.zeros(N, dtype=d)
    for call in (lambda: z.uniform_(-1, 1), lambda: z.normal_(), lambda: z.exponential_(),
                 lambda: z.bernoulli_(0.5), lambda: z.log_normal_(), lambda: z.cauchy_()):
        assert call() is z and z.dtype is d
    r = z.random_().float().numpy()
    digits = 11 if dtype == "float16" else 8
    assert r.min() >= 0 and r.max() <= 2 ** digits and r.max() > 2 ** (digits - 1)


def test_graph_node_names_match_torch():
    def names(m):
        r = lambda: m.ones(3, requires_grad=True)  # noqa: E731

        def inplace(f):
            y = r() * 1
            f(y)
            return y

        outs = [m.normal(r(), 1.0), m.normal(r(), r()), m.normal(0.0, r()), m.bernoulli(r() * 0.5),
                m.poisson(r())] + [inplace(f) for f in (
                    lambda y: y.uniform_(), lambda y: y.normal_(), lambda y: y.random_(),
                    lambda y: y.bernoulli_(0.5), lambda y: y.bernoulli_(m.full((3,), 0.5)),
                    lambda y: y.exponential_(), lambda y: y.geometric_(0.5), lambda y: y.cauchy_(),
                    lambda y: y.log_normal_())]
        return [o.grad_fn.name() for o in outs]

    assert names(ember) == names(torch)
