"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention
against torch: outputs, attention weights and every gradient; masks; errors."""

import itertools

import numpy as np
import pytest
import torch
from nn_check import copy_state, same_repr
from reference import assert_same, check, gradcheck, rand

import ember
import ember.nn  # noqa: F401
from ember.autograd import gradgradcheck


def F(m):
    return m.nn.functional


def _sdpa(**kw):
    return lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, **kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", [
    [(2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)], [(4, 8), (5, 8), (5, 8)], [(3, 4, 2), (3, 4, 2),
                                                                          (3, 4, 2)]])
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}])
def test_sdpa_matches_torch(dtype, shapes, kw):
    check(_sdpa(**kw), [rand(s, dtype, seed=i) for i, s in enumerate(shapes)], rtol=1e-5,
          atol=1e-5)


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 1, 4, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_masks_match_torch(mask_shape, kind):
    rng = np.random.default_rng(3)
    if kind == "bool":
        mask = rng.random(mask_shape) > 0.4
        mask[..., 0] = True
    else:
        mask = rng.standard_normal(mask_shape).astype("float32")
    arrays = [rand((2, 3, 4, 8)), rand((2, 3, 5, 8), seed=1), rand((2, 3, 5, 6), seed=2)]
    if kind == "bool":
        check(lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
              arrays + [mask], rtol=1e-5, atol=1e-5)
    else:  # a float mask is differentiable too
        check(lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
              arrays + [mask], rtol=1e-5, atol=1e-5)


def test_sdpa_fully_masked_rows_are_zero_with_zero_gradients():
    mask = np.ones((4, 5), bool)
    mask[1] = False
    check(lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
          [rand((2, 4, 8)), rand((2, 5, 8), seed=1), rand((2, 5, 8), seed=2), mask])
    fmask = np.zeros((4, 5), "float32")
    fmask[2] = -np.inf
    check(lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
          [rand((2, 4, 8)), rand((2, 5, 8), seed=1), rand((2, 5, 8), seed=2), fmask], grad=False)


def test_sdpa_grouped_query_attention():
    check(_sdpa(enable_gqa=True), [rand((2, 4, 3, 8)), rand((2, 2, 5, 8), seed=1),
                                   rand((2, 2, 5, 8), seed=2)], rtol=1e-5, atol=1e-5)


def test_sdpa_dropout_is_random_and_scaled():
    ember.manual_seed(0)
    q = ember.randn(2, 4, 8)
    a = F(ember).scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    b = F(ember).scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert not ember.equal(a, b)
    ones = ember.ones(1, 1, 200, 4)
    out = F(ember).scaled_dot_product_attention(ones, ones, ones, dropout_p=0.5)
    assert abs(float(out.mean()) - 1.0) < 0.1  # kept weights are scaled by 1 / (1 - p)


def test_sdpa_gradcheck():
    gradcheck(_sdpa(), [rand((2, 3, 4)), rand((2, 5, 4), seed=1), rand((2, 5, 3), seed=2)])
    gradcheck(_sdpa(is_causal=True), [rand((3, 4)), rand((3, 4), seed=1), rand((3, 2), seed=2)])
    xs = tuple(ember.from_numpy(rand(s, "float64", seed=i)).requires_grad_()
               for i, s in enumerate([(2, 3), (4, 3), (4, 2)]))
    assert gradgradcheck(lambda q, k, v: F(ember).scaled_dot_product_attention(q, k, v), xs)


@pytest.mark.parametrize("call", [
    lambda m: F(m).scaled_dot_product_attention(m.zeros(2, 4, 8), m.zeros(2, 5, 8),
                                                m.zeros(2, 5, 8), attn_mask=m.zeros(4, 5),
                                                is_causal=True),
    lambda m: F(m).scaled_dot_product_attention(m.zeros(2, 4, 8), m.zeros(2, 5, 8),
                                                m.zeros(2, 5, 8, dtype=m.float64)),
    lambda m: F(m).scaled_dot_product_attention(m.zeros(2, 4, 8, dtype=m.int64),
                                                m.zeros(2, 5, 8), m.zeros(2, 5, 8)),
    lambda m: F(m).scaled_dot_product_attention(m.zeros(2, 4, 8), m.zeros(2, 5, 7),
                                                m.zeros(2, 5, 8)),
])
def test_sdpa_errors_match_torch(call):
    with pytest.raises(Exception) as t_info:
        call(torch)
    with pytest.raises(type(t_info.value)) as e_info:
        call(ember)
    if "dtype" in str(t_info.value) or "is_causal" in str(t_info.value):
        assert str(e_info.value) == str(t_info.value)


# --- nn.MultiheadAttention --------------------------------------------------------------------

L, S, N, E, HEADS = 4, 5, 2, 8, 2
MHA_KW = [{}, {"bias": False}, {"add_bias_kv": True}, {"add_zero_attn": True},
          {"kdim": 3, "vdim": 5}, {"batch_first": True},
          {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6}]
MASKS = [None, "key_padding", "attn", "both", "causal", "float"]


def _masks(lib, which, rng_masks):
    kpm, am, fm = rng_masks
    n_src = am.shape[1]
    extra = {}
    if which in ("key_padding", "both"):
        extra["key_padding_mask"] = lib.tensor(kpm)
    if which in ("attn", "both"):
        extra["attn_mask"] = lib.tensor(am)
    if which == "float":
        extra["attn_mask"] = lib.tensor(fm)
        extra["key_padding_mask"] = lib.tensor(np.where(kpm, -np.inf, 0.0))
    if which == "causal":
        extra["attn_mask"] = lib.tensor(np.triu(np.full((L, n_src), -np.inf), 1))
        extra["is_causal"] = True
    return extra


def _compare_mha(kw, masks, need_weights, average, *, self_attention=False, unbatched=False):
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(E, HEADS, **kw).double().eval()
    e_mod = ember.nn.MultiheadAttention(E, HEADS, **kw).double().eval()
    copy_state(e_mod, t_mod)
    rng = np.random.default_rng(0)
    bf = kw.get("batch_first", False)

    def shaped(seq, feat):
        if unbatched:
            return rng.standard_normal((seq, feat))
        return rng.standard_normal((N, seq, feat) if bf else (seq, N, feat))

    src = L if self_attention else S
    q = shaped(L, E)
    k, v = shaped(S, kw.get("kdim", E)), shaped(S, kw.get("vdim", E))
    kpm = np.zeros((N, src), bool)
    kpm[0, -2:] = True
    am = rng.random((L, src)) > 0.7
    am[:, 0] = False
    fm = rng.standard_normal((L, src))
    if unbatched:
        kpm = kpm[0]
    results = {}
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        leaves = [lib.tensor(a, requires_grad=True) for a in ((q,) if self_attention else
                                                               (q, k, v))]
        args = leaves * 3 if self_attention else leaves
        out, w = mod(*args, need_weights=need_weights, average_attn_weights=average,
                     **_masks(lib, masks, (kpm, am, fm)))
        loss = out.sin().sum() + (0 if w is None else (w * w).sum())
        loss.backward()
        results[lib] = ([out, w], leaves, [p.grad for p in mod.parameters()])
    (e_out, e_in, e_pg), (t_out, t_in, t_pg) = results[ember], results[torch]
    for e, t in zip(e_out, t_out):
        assert (e is None) == (t is None)
        if t is not None:
            assert_same(e, t, 1e-9, 1e-10)
    for e, t in zip([x.grad for x in e_in] + e_pg, [x.grad for x in t_in] + t_pg):
        assert_same(e, t, 1e-8, 1e-10)


@pytest.mark.parametrize("kw, masks", list(itertools.product(MHA_KW, MASKS)))
def test_multihead_attention_matches_torch(kw, masks):
    for need_weights, average in ((True, True), (True, False), (False, True)):
        _compare_mha(kw, masks, need_weights, average)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_self_attention_same_tensor(batch_first):
    _compare_mha({"batch_first": batch_first}, "key_padding", True, True, self_attention=True)
    _compare_mha({"batch_first": batch_first}, None, False, True, self_attention=True)


@pytest.mark.parametrize("masks", [None, "attn", "causal"])
def test_multihead_attention_unbatched(masks):
    _compare_mha({}, masks, True, True, unbatched=True)
    _compare_mha({}, masks, False, True, unbatched=True)


def test_multihead_attention_parameters_and_init():
    t_mod = torch.nn.MultiheadAttention(E, HEADS, add_bias_kv=True, kdim=3)
    e_mod = ember.nn.MultiheadAttention(E, HEADS, add_bias_kv=True, kdim=3)
    assert [(n, tuple(p.shape)) for n, p in e_mod.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t_mod.named_parameters()]
    assert e_mod.in_proj_weight is None and e_mod.q_proj_weight is not None
    assert not e_mod.in_proj_bias.detach().numpy().any()
    assert not e_mod.out_proj.bias.detach().numpy().any()
    same = ember.nn.MultiheadAttention(E, HEADS)
    assert same.in_proj_weight.shape == (3 * E, E) and same.bias_k is None
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ on (3E, E)
    w = same.in_proj_weight.detach().numpy()
    assert w.max() <= bound and w.min() >= -bound and w.std() > bound / 4
    same_repr(lambda nn: nn.MultiheadAttention(E, HEADS, kdim=3))


def test_multihead_attention_dropout_only_in_training():
    mod = ember.nn.MultiheadAttention(E, HEADS, dropout=0.5)
    x = ember.randn(L, N, E)
    mod.eval()
    a, _ = mod(x, x, x)
    b, _ = mod(x, x, x)
    assert ember.equal(a, b)
    mod.train()
    c, _ = mod(x, x, x)
    d, _ = mod(x, x, x)
    assert not ember.equal(c, d)


def test_multi_head_attention_forward_functional():
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(E, HEADS)
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((L, N, E)).astype("float32"), rng.standard_normal(
        (S, N, E)).astype("float32")
    res = {}
    for lib in (torch, ember):
        p = {n: lib.from_numpy(v.detach().numpy().copy()) for n, v in t_mod.state_dict().items()}
        res[lib] = F(lib).multi_head_attention_forward(
            lib.from_numpy(q), lib.from_numpy(k), lib.from_numpy(k), E, HEADS,
            p["in_proj_weight"], p["in_proj_bias"], None, None, False, 0.0,
            p["out_proj.weight"], p["out_proj.bias"], training=False)
    assert_same(res[ember][0], res[torch][0], 1e-5, 1e-6)
    assert_same(res[ember][1], res[torch][1], 1e-5, 1e-6)


@pytest.mark.parametrize("make, call", [
    (lambda nn: nn.MultiheadAttention(E, 3), None),
    (lambda nn: nn.MultiheadAttention(0, 2), None),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, N, E), m.zeros(S, N, E),
                        attn_mask=m.zeros(L, L))),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, N, E), m.zeros(S, N, E),
                        attn_mask=m.zeros(3, L, S))),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, N, E), m.zeros(S, N, E),
                        key_padding_mask=m.zeros(N, S + 1, dtype=m.bool))),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, N, E), m.zeros(S, N, E), is_causal=True)),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, E), m.zeros(S, N, E))),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, N, E), m.zeros(S, N, E),
                        attn_mask=m.zeros(L, S, dtype=m.int64))),
    (lambda nn: nn.MultiheadAttention(E, HEADS),
     lambda m, mod: mod(m.zeros(L, N, E), m.zeros(S, N, E), m.zeros(S + 1, N, E))),
])
def test_multihead_attention_errors_match_torch(make, call):
    with pytest.raises(Exception) as t_info:
        mod = make(torch.nn)
        call(torch, mod)
    with pytest.raises(type(t_info.value)) as e_info:
        mod = make(ember.nn)
        call(ember, mod)
    assert str(e_info.value) == str(t_info.value).replace("torch.Size", "ember.Size")


@pytest.mark.parametrize("sk_shape, sv_shape", [
    ((N * HEADS, S, E // HEADS), (N * HEADS, S, E // HEADS)),  # used as the keys and values
    ((N * HEADS + 1, S, E // HEADS), None), ((N * HEADS, S, E // HEADS + 1), None),
    (None, (N * HEADS - 1, S, E // HEADS)), (None, (N * HEADS, S, 1)),
])
def test_multi_head_attention_forward_static_kv(sk_shape, sv_shape):
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(E, HEADS)
    q, k = rand((L, N, E)), rand((S, N, E), seed=1)
    statics = [None if s is None else rand(s, seed=2 + i)
               for i, s in enumerate((sk_shape, sv_shape))]
    res = {}
    for lib in (torch, ember):
        p = {n: lib.from_numpy(v.detach().numpy().copy()) for n, v in t_mod.state_dict().items()}
        sk, sv = (None if a is None else lib.from_numpy(a) for a in statics)
        try:
            res[lib] = F(lib).multi_head_attention_forward(
                lib.from_numpy(q), lib.from_numpy(k), lib.from_numpy(k), E, HEADS,
                p["in_proj_weight"], p["in_proj_bias"], None, None, False, 0.0,
                p["out_proj.weight"], p["out_proj.bias"], training=False, static_k=sk,
                static_v=sv)
        except AssertionError as e:
            res[lib] = str(e)
    if isinstance(res[torch], str):
        assert res[ember] == res[torch]
    else:
        assert_same(res[ember][0], res[torch][0], 1e-5, 1e-6)
        assert_same(res[ember][1], res[torch][1], 1e-5, 1e-6)
