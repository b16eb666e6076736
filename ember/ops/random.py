"""Random numbers: ``Generator``, seeding, sampling functions and the in-place samplers.

Every draw comes from a ``Generator`` (the module's ``default_generator`` unless ``generator=`` is
given), which wraps NumPy's PCG64 bit generator. ember's streams are not PyTorch's: the same seed
gives reproducible numbers in ember, but not the numbers torch would give. Samplers produce float32
directly (no float64 round trip). Sampled values are not differentiable: ops that take a tensor
(``normal(mean, std)``, ``bernoulli``, ``poisson``, the in-place samplers on a non-leaf) pass a zero
gradient back, as PyTorch does.
"""

from __future__ import annotations

import contextlib
import math
import operator

import numpy as np

from ember import _tensor
from ember import dtypes as _dt
from ember._legacy_types import c_type_name, scalar_type_name
from ember.autograd.function import Primitive
from ember.backend import CPU, canonical_device, to_device

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "rand", "randn", "randint", "randperm", "normal",
           "bernoulli", "multinomial", "poisson", "rand_like", "randn_like", "randint_like"]

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed, so initial_seed() reads the same
_U64 = (1 << 64) - 1
_STATE_BYTES = 48  # PCG64 state (16) + increment (16) + has_uint32 (4) + uinteger (4) + seed (8)


class Generator:
    """A source of random numbers, as ``torch.Generator``: seed it, save and restore its state.

    Wraps ``numpy.random.Generator(PCG64(seed))``; a seed gives the same numbers on every run of
    ember, but not the numbers PyTorch's Mersenne Twister gives.
    """

    def __init__(self, device="cpu"):
        self._device = canonical_device(device)
        self._seed = _DEFAULT_SEED
        self._rng = np.random.Generator(np.random.PCG64(_DEFAULT_SEED))

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed) -> Generator:
        """Restart the stream from ``seed`` (an int; negative values wrap to 64 bits)."""
        if isinstance(seed, _tensor.Tensor):
            seed = seed.item()
        if not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -(1 << 63) <= seed <= _U64:
            raise ValueError("Overflow when unpacking long long")
        self._seed = seed & _U64
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        s = int(np.random.SeedSequence().entropy) & _U64
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self):
        """The full state as a uint8 tensor (ember's own layout, not PyTorch's)."""
        st = self._rng.bit_generator.state
        raw = (st["state"]["state"].to_bytes(16, "little")
               + st["state"]["inc"].to_bytes(16, "little")
               + int(st["has_uint32"]).to_bytes(4, "little")
               + int(st["uinteger"]).to_bytes(4, "little") + self._seed.to_bytes(8, "little"))
        return _tensor.Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy(), CPU)

    def set_state(self, new_state) -> Generator:
        """Restore a state returned by ``get_state``."""
        if not isinstance(new_state, _tensor.Tensor) or new_state.dtype is not _dt.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = np.ascontiguousarray(new_state.detach().numpy(force=True)).tobytes()
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but found "
                               f"the input RNG state size to be {len(raw)}")
        bg = np.random.PCG64()
        bg.state = {"bit_generator": "PCG64",
                    "state": {"state": int.from_bytes(raw[0:16], "little"),
                              "inc": int.from_bytes(raw[16:32], "little")},
                    "has_uint32": int.from_bytes(raw[32:36], "little"),
                    "uinteger": int.from_bytes(raw[36:40], "little")}
        self._rng = np.random.Generator(bg)
        self._seed = int.from_bytes(raw[40:48], "little")
        return self

    def __repr__(self) -> str:
        return f"<ember.Generator object at {hex(id(self))}>"


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed the default generator (``int(seed)``, as torch); returns it. The numbers that follow
    are reproducible in ember but are not the ones torch gives for the same seed."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state()``."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda"):
    """A context in which the default generator is used freely; its state is restored on exit."""
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)


# --- helpers -------------------------------------------------------------------------------------

def _rng(generator) -> np.random.Generator:
    return (default_generator if generator is None else generator)._rng


def _require_float(d, kernel: str) -> None:
    if not d.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{scalar_type_name(d)}\'')


def _sizes(args, size, name: str) -> tuple:
    """``rand(2, 3)``, ``rand((2, 3))``, ``rand([2, 3])`` and ``rand(size=(2, 3))``."""
    if size is not None:
        args = (size,)
    if not args:
        raise TypeError(f"{name}() received an invalid combination of arguments - got (), but "
                        "expected (tuple of ints size, ...)")
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    try:
        shape = tuple(operator.index(s) for s in args)
    except TypeError:
        raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element of "
                        f"type {type(next(s for s in args if not isinstance(s, int))).__name__}"
                        ) from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _uniform(rng, shape, npdt) -> np.ndarray:
    """Uniform samples in [0, 1) of NumPy dtype ``npdt`` (a floating type)."""
    if npdt == np.float32 or npdt == np.float64:
        return rng.random(shape, dtype=npdt)
    # Half precision: k / 2**p with p the type's precision is exact, so 1.0 is never produced.
    bits = 11 if npdt == np.float16 else 8
    return (rng.integers(0, 1 << bits, shape) * (1.0 / (1 << bits))).astype(npdt)


def _cmp_dtype(a):
    """The uniforms a Bernoulli draw compares with: float64 for float64 tensors, else float32
    (half the cost; a resolution of 2**-24 is far below any sampling error)."""
    return np.float64 if a.dtype == np.float64 else np.float32


def _standard_normal(rng, shape, npdt) -> np.ndarray:
    """Standard normal samples of NumPy dtype ``npdt`` (a floating type).

    Large float32 (and half) draws use Box-Muller on float32 uniforms, twice as fast as NumPy's
    ziggurat; like PyTorch's float32 sampler it cannot go beyond about 5.8 standard deviations.
    """
    if npdt == np.float64:
        return rng.standard_normal(shape, dtype=np.float64)
    n = math.prod(shape)
    if n < 256:
        return rng.standard_normal(shape, dtype=np.float32).astype(npdt, copy=False)
    h = (n + 1) // 2
    u = rng.random((2, h), dtype=np.float32)
    r = np.log1p(-u[0])  # 1 - u is in (0, 1]: the log is finite
    r *= -2
    np.sqrt(r, out=r)
    angle = u[1]
    angle *= np.float32(2 * math.pi)
    out = np.empty(2 * h, dtype=np.float32)
    np.multiply(r, np.cos(angle), out=out[:h])
    np.multiply(r, np.sin(angle, out=angle), out=out[h:])
    return out[:n].reshape(shape).astype(npdt, copy=False)


def _result(data, dev, requires_grad=False, out=None, name=""):
    t = _tensor.Tensor._make(data if dev.type == "cpu" else to_device(data, dev), dev)
    if requires_grad:
        t.requires_grad = True
    if out is not None:
        from ember.ops.arithmetic import handle_out

        return handle_out(t, out, name)
    return t


def _float_dtype(dtype):
    return _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)


def _check_int_range(lo, hi, d) -> None:
    """torch's refusal of ``[lo, hi)`` ranges that do not fit an integer dtype."""
    if d.is_floating_point or d is _dt.bool:
        return
    info = np.iinfo(d.np)
    if lo < info.min or lo > info.max:
        raise RuntimeError(f"from is out of bounds for {c_type_name(d)}")
    if hi - 1 < info.min or hi - 1 > info.max:
        raise RuntimeError(f"to - 1 is out of bounds for {c_type_name(d)}")




# --- primitives --------------------------------------------------------------------------------

class Sample(Primitive):
    """A fresh sample shaped like the broadcast inputs: ``draw(*arrays)`` makes it; zero gradient.

    The in-place samplers (``x.normal_()``) run it through ``Tensor._inplace`` with ``x`` as the
    first input, so a sampled non-leaf passes zeros back, as in PyTorch.
    """

    @staticmethod
    def forward(ctx, *arrays, draw, node="SampleBackward0"):
        ctx.node = node
        if ctx.device.type == "cpu":
            return draw(*arrays)
        # Samples come from the generator's NumPy stream and are copied to the device.
        host = tuple(to_device(a, CPU) if hasattr(a, "shape") else a for a in arrays)
        return to_device(draw(*host), ctx.device)

    @staticmethod
    def backward(ctx, g):
        zero = g * 0
        return tuple(zero if need else None for need in ctx.needs_input_grad)

    def name(self) -> str:
        """torch's node for the sampler (``NormalBackward0`` for ``normal_``...)."""
        return self.node


# --- sampling functions ------------------------------------------------------------------------

def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples in [0, 1): ``rand(2, 3)``, ``rand((2, 3))`` or ``rand(size=(2, 3))``."""
    shape = _sizes(sizes, size, "rand")
    d = _float_dtype(dtype)
    _require_float(d, "check_uniform_bounds")
    return _result(_uniform(_rng(generator), shape, d.np), canonical_device(device),
                   requires_grad, out, "rand")


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples: ``randn(2, 3)``, ``randn((2, 3))`` or ``randn(size=(2, 3))``."""
    shape = _sizes(sizes, size, "randn")
    d = _float_dtype(dtype)
    _require_float(d, "normal_kernel_cpu")
    return _result(_standard_normal(_rng(generator), shape, d.np), canonical_device(device),
                   requires_grad, out, "randn")


def _randint_values(rng, lo, hi, shape, d):
    if lo >= hi:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} >= "
                           f"to={hi}")
    _check_int_range(lo, hi, d)
    return rng.integers(lo, hi, shape, dtype=np.int64).astype(d.np, copy=False)


def randint(low=None, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` says otherwise."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None:
        low, high = 0, low
    if low is None:
        low = 0
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(size).__name__}")
    shape = _sizes((tuple(size),), None, "randint")
    d = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    data = _randint_values(_rng(generator), int(low), int(high), shape, d)
    return _result(data, canonical_device(device), requires_grad, out, "randint")


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` says otherwise)."""
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    d = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    data = _rng(generator).permutation(n).astype(d.np, copy=False)
    return _result(data, canonical_device(device), requires_grad, out, "randperm")


def _is_tensor(x) -> bool:
    return isinstance(x, _tensor.Tensor)


def normal(mean, std=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, requires_grad=False, pin_memory=False):
    """Normal samples with the given ``mean`` and ``std``: tensors (broadcast together), or two
    numbers and a ``size``."""
    rng = _rng(generator)
    if not _is_tensor(mean) and not _is_tensor(std):
        if std is None or size is None:
            raise TypeError(f"normal() received an invalid combination of arguments - got "
                            f"({type(mean).__name__}, {type(std).__name__}), but expected one of: "
                            "(Tensor mean, Tensor std), (Tensor mean, float std = 1), (float mean, "
                            "Tensor std), (float mean, float std, tuple of ints size)")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        d = _float_dtype(dtype)
        _require_float(d, "normal_kernel_cpu")
        data = _standard_normal(rng, _sizes((size,), None, "normal"), d.np)
        if std != 1:
            data *= std
        if mean != 0:
            data += mean
        return _result(data, canonical_device(device), requires_grad, out, "normal")
    if std is None:
        std = 1.0
    d = _dt.result_type(*(x for x in (mean, std) if _is_tensor(x)))
    _require_float(d, "normal_kernel_cpu")
    if _is_tensor(std) and (std._data < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not _is_tensor(std) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")

    def draw(m, s):
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        return (_standard_normal(rng, shape, d.np) * s + m).astype(d.np, copy=False)

    node = ("NormalBackward3" if _is_tensor(mean) and _is_tensor(std)
            else "NormalBackward1" if _is_tensor(mean) else "NormalBackward2")
    result = Sample.apply(mean, std, draw=draw, node=node)
    if out is not None:
        from ember.ops.arithmetic import handle_out

        return handle_out(result, out, "normal")
    return result


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples (in ``input``'s dtype) that are 1 with probability ``input`` (or ``p``)."""
    rng = _rng(generator)
    if p is None:
        _require_float(input.dtype, "bernoulli_tensor_cpu_p_")

        def draw(probs):
            if ((probs < 0) | (probs > 1)).any():
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
            return (_uniform(rng, probs.shape, _cmp_dtype(probs)) < probs).astype(probs.dtype)
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")

        def draw(like):
            return (_uniform(rng, like.shape, _cmp_dtype(like)) < p).astype(like.dtype)

    result = Sample.apply(input, draw=draw, node="BernoulliBackward0")
    if out is not None:
        from ember.ops.arithmetic import handle_out

        return handle_out(result, out, "bernoulli")
    return result


def _multinomial_draw(rng, probs, num_samples, replacement):
    """Category indices, one row of ``num_samples`` per row of ``probs`` (2-D, float64)."""
    rows, ncat = probs.shape
    if replacement:
        cdf = np.cumsum(probs, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((rows, num_samples))
        out = np.empty((rows, num_samples), dtype=np.int64)
        for r in range(rows):  # the first category whose cumulative probability exceeds u
            out[r] = np.searchsorted(cdf[r], u[r], side="right")
        return np.minimum(out, ncat - 1, out=out)
    # Without replacement: the k largest p / E with E ~ Exp(1) are an ordered sample of k
    # categories drawn one after another proportionally to p (the exponential race).
    keys = probs / rng.standard_exponential((rows, ncat))
    return np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Indices sampled from the categorical distribution(s) in the last dim of ``input``."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{scalar_type_name(input.dtype)}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    ncat = input.shape[-1]
    if not replacement and num_samples > ncat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    probs = input.detach().numpy(force=True).astype(np.float64).reshape(-1, ncat)
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (probs.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    idx = _multinomial_draw(_rng(generator), probs, num_samples, replacement)
    if input.ndim == 1:
        idx = idx[0]
    return _result(idx, input.device, False, out, "multinomial")


def poisson(input, generator=None):
    """Poisson samples with rates ``input`` (same dtype as ``input``)."""
    _require_float(input.dtype, "poisson_cpu")
    rng = _rng(generator)

    def draw(rates):
        if (rates < 0).any():
            raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
        return rng.poisson(rates).astype(rates.dtype)

    return Sample.apply(input, draw=draw, node="PoissonBackward0")


def _like_dtype_device(input, dtype, device):
    return (input.dtype if dtype is None else _dt.to_dtype(dtype),
            input.device if device is None else canonical_device(device))


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None):
    """``rand`` with ``input``'s shape, dtype and device."""
    d, dev = _like_dtype_device(input, dtype, device)
    _require_float(d, "check_uniform_bounds")
    return _result(_uniform(_rng(generator), input.shape, d.np), dev, requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None):
    """``randn`` with ``input``'s shape, dtype and device."""
    d, dev = _like_dtype_device(input, dtype, device)
    _require_float(d, "normal_kernel_cpu")
    return _result(_standard_normal(_rng(generator), input.shape, d.np), dev, requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None):
    """``randint`` with ``input``'s shape, dtype and device: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    d, dev = _like_dtype_device(input, dtype, device)
    data = _randint_values(_rng(generator), int(low), int(high), tuple(input.shape), d)
    return _result(data, dev, requires_grad)


# --- in-place samplers ---------------------------------------------------------------------------

def _random_bounds(d, args, kwargs):
    """``random_()``, ``random_(to)``, ``random_(from, to)`` (or ``from=``/``to=`` keywords)."""
    if len(args) == 1 and not kwargs:
        lo, hi = 0, args[0]
    else:
        lo = args[0] if args else kwargs.pop("from", 0)
        hi = args[1] if len(args) > 1 else kwargs.pop("to", None)
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if hi is None:  # up to the largest integer the dtype holds exactly
        if d is _dt.bool:
            hi = 2
        elif d.is_floating_point:
            hi = 2 * round(1 / _dt.finfo(d).eps) + 1  # 2**digits: 2**24 for float32
        else:
            hi = int(np.iinfo(d.np).max) + 1
    return int(lo), int(hi)


class RandomMethods:
    """Tensor methods of this family: the in-place samplers, ``bernoulli`` and ``multinomial``.

    Each fills the tensor through ``_inplace``: a leaf that requires grad refuses (outside
    ``no_grad``), and a non-leaf passes a zero gradient back.
    """

    __slots__ = ()

    def uniform_(self, from_=0.0, to=1.0, *, generator=None):
        """Fill with uniform samples from [from_, to)."""
        _require_float(self.dtype, "check_uniform_bounds")
        if from_ > to:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={from_} > to={to}")
        rng = _rng(generator)

        def draw(a):
            u = _uniform(rng, a.shape, a.dtype)
            if from_ != 0 or to != 1:
                u *= to - from_
                u += from_
            return u

        return self._inplace(Sample, node="UniformBackward0", draw=draw)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with normal samples."""
        _require_float(self.dtype, "normal_kernel_cpu")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        rng = _rng(generator)

        def draw(a):
            x = _standard_normal(rng, a.shape, a.dtype)
            if std != 1:
                x *= std
            if mean != 0:
                x += mean
            return x

        return self._inplace(Sample, node="NormalBackward0", draw=draw)

    def random_(self, *args, generator=None, **kwargs):
        """Fill with integers from [from, to): ``random_(to)``, ``random_(from, to)``, or
        ``random_()`` for [0, the largest integer the dtype holds exactly]."""
        d = self.dtype
        lo, hi = _random_bounds(d, args, kwargs)
        rng = _rng(generator)
        def draw(a):
            return _randint_values(rng, lo, hi, a.shape, d)

        return self._inplace(Sample, node="RandomBackward2", draw=draw)

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 0/1 samples that are 1 with probability ``p`` (a number or a tensor)."""
        rng = _rng(generator)
        if _is_tensor(p):
            def draw(a, probs):
                u = _uniform(rng, np.broadcast_shapes(a.shape, probs.shape), _cmp_dtype(probs))
                return np.broadcast_to(u < probs, a.shape).astype(a.dtype)

            return self._inplace(Sample, p.detach(), node="BernoulliBackward1", draw=draw)
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        def draw_p(a):
            return (_uniform(rng, a.shape, _cmp_dtype(a)) < p).astype(a.dtype)

        return self._inplace(Sample, node="BernoulliBackward2", draw=draw_p)

    def exponential_(self, lambd=1.0, *, generator=None):
        """Fill with exponential samples of rate ``lambd``."""
        if not self.dtype.is_floating_point:
            raise RuntimeError("Exponential distribution is a continuous probability "
                               "distribution. dtype must be a floating point but you specified "
                               f"{scalar_type_name(self.dtype)}")
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        rng = _rng(generator)

        def draw(a):
            npdt = a.dtype if a.dtype in (np.float32, np.float64) else np.float32
            x = rng.standard_exponential(a.shape, dtype=npdt)
            if lambd != 1:
                x /= lambd  # a Python float keeps x's dtype
            return x.astype(a.dtype, copy=False)

        return self._inplace(Sample, node="ExponentialBackward0", draw=draw)

    def geometric_(self, p, *, generator=None):
        """Fill with the number of Bernoulli(p) trials up to and including the first success."""
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        rng = _rng(generator)
        def draw(a):
            return rng.geometric(p, a.shape).astype(a.dtype)

        return self._inplace(Sample, node="GeometricBackward0", draw=draw)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        """Fill with Cauchy samples."""
        if not self.dtype.is_floating_point:
            raise RuntimeError("Cauchy distribution is a continuous probability distribution. "
                               f"dtype must be a floating point but you specified "
                               f"{c_type_name(self.dtype)}")
        rng = _rng(generator)
        def draw(a):
            return (median + sigma * rng.standard_cauchy(a.shape)).astype(a.dtype)

        return self._inplace(Sample, node="CauchyBackward0", draw=draw)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """Fill with samples whose logarithm is normal(mean, std)."""
        _require_float(self.dtype, "log_normal_cpu")
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        rng = _rng(generator)
        def draw(a):
            return rng.lognormal(mean, std, a.shape).astype(a.dtype)

        return self._inplace(Sample, node="LogNormalBackward0", draw=draw)

    def bernoulli(self, p=None, *, generator=None):
        return bernoulli(self, p, generator=generator)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return multinomial(self, num_samples, replacement, generator=generator)
