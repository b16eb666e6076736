"""Transformer layers, stacks and the full model against torch (torch's state_dict loaded):
outputs and every gradient, masks, norm_first, activations, batch_first; reprs and errors."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from nn_check import copy_state, same_repr
from reference import assert_same

import ember
import ember.nn  # noqa: F401

E, HEADS, FF = 8, 2, 16
S, T, N = 5, 4, 2


def _build(make, dtype="float64"):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's nested-tensor fast-path advice
        t_mod = make(torch.nn)
    e_mod = make(ember.nn)
    if dtype == "float64":
        t_mod.double()
        e_mod.double()
    copy_state(e_mod, t_mod)
    return e_mod, t_mod


def _compare(make, arrays, call, *, train=False, dtype="float64", rtol=1e-9, atol=1e-10):
    """Outputs, input gradients and parameter gradients of ``call(lib, module, *inputs)``."""
    e_mod, t_mod = _build(make, dtype)
    e_mod.train(train)
    t_mod.train(train)
    res = {}
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        leaves = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = call(lib, mod, *leaves)
        (out.sin() * out).sum().backward()
        res[lib] = (out, [x.grad for x in leaves], [p.grad for p in mod.parameters()])
    (e_out, e_g, e_pg), (t_out, t_g, t_pg) = res[ember], res[torch]
    assert_same(e_out, t_out, rtol, atol)
    for e, t in zip(e_g + e_pg, t_g + t_pg):
        if t is None:
            assert e is None or not e.detach().numpy().any()
            continue
        assert_same(e, t, rtol * 10, atol * 10)
    return e_mod, t_mod


def _data(batch_first, seq, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, seq, E) if batch_first else (seq, N, E))


def _causal(lib, n):
    return lib.nn.Transformer.generate_square_subsequent_mask(n, dtype=lib.float64)


def _padding(lib, kpm):
    """A key padding mask of the causal mask's type (mixed bool / float masks warn, as torch)."""
    return lib.tensor(np.where(kpm, -np.inf, 0.0))


ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "callable": None}


def _act(lib, name):
    if name == "callable":
        return lib.nn.functional.silu
    return name


LAYER_CASES = list(itertools.product([False, True], ["relu", "gelu", "callable"], [False, True],
                                     [True, False]))


@pytest.mark.parametrize("norm_first, act, batch_first, bias", LAYER_CASES)
def test_encoder_layer_matches_torch(norm_first, act, batch_first, bias):
    def make(nn):
        lib = torch if nn is torch.nn else ember
        return nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.0, activation=_act(lib, act),
                                          batch_first=batch_first, norm_first=norm_first,
                                          bias=bias)
    kpm = np.zeros((N, S), bool)
    kpm[1, -2:] = True
    _compare(make, [_data(batch_first, S, 0)], lambda lib, m, x: m(x))
    _compare(make, [_data(batch_first, S, 0)],
             lambda lib, m, x: m(x, src_mask=_causal(lib, S),
                                 src_key_padding_mask=_padding(lib, kpm)))
    _compare(make, [_data(batch_first, S, 0)],
             lambda lib, m, x: m(x, src_mask=_causal(lib, S), is_causal=True))


@pytest.mark.parametrize("norm_first, act, batch_first, bias", LAYER_CASES)
def test_decoder_layer_matches_torch(norm_first, act, batch_first, bias):
    def make(nn):
        lib = torch if nn is torch.nn else ember
        return nn.TransformerDecoderLayer(E, HEADS, FF, dropout=0.0, activation=_act(lib, act),
                                          batch_first=batch_first, norm_first=norm_first,
                                          bias=bias)
    kpm = np.zeros((N, S), bool)
    kpm[0, -1] = True
    _compare(make, [_data(batch_first, T, 0), _data(batch_first, S, 1)],
             lambda lib, m, t, mem: m(t, mem))
    _compare(make, [_data(batch_first, T, 0), _data(batch_first, S, 1)],
             lambda lib, m, t, mem: m(t, mem, tgt_mask=_causal(lib, T),
                                      memory_key_padding_mask=_padding(lib, kpm),
                                      tgt_is_causal=True))


@pytest.mark.parametrize("with_norm", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_and_decoder_stacks_match_torch(with_norm, batch_first):
    def enc(nn):
        layer = nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.0, batch_first=batch_first)
        return nn.TransformerEncoder(layer, 2, nn.LayerNorm(E) if with_norm else None,
                                     enable_nested_tensor=False)

    def dec(nn):
        layer = nn.TransformerDecoderLayer(E, HEADS, FF, dropout=0.0, batch_first=batch_first)
        return nn.TransformerDecoder(layer, 2, nn.LayerNorm(E) if with_norm else None)

    kpm = np.zeros((N, S), bool)
    kpm[1, -2:] = True
    _compare(enc, [_data(batch_first, S, 0)],
             lambda lib, m, x: m(x, mask=_causal(lib, S), src_key_padding_mask=_padding(lib, kpm)))
    _compare(enc, [_data(batch_first, S, 0)], lambda lib, m, x: m(x))
    _compare(dec, [_data(batch_first, T, 0), _data(batch_first, S, 1)],
             lambda lib, m, t, mem: m(t, mem, tgt_mask=_causal(lib, T)))


@pytest.mark.parametrize("norm_first, batch_first", [(False, False), (True, True)])
def test_full_transformer_matches_torch(norm_first, batch_first):
    def make(nn):
        return nn.Transformer(E, HEADS, 2, 2, FF, dropout=0.0, batch_first=batch_first,
                              norm_first=norm_first)
    kpm = np.zeros((N, S), bool)
    kpm[0, -1] = True
    e_mod, t_mod = _compare(
        make, [_data(batch_first, S, 0), _data(batch_first, T, 1)],
        lambda lib, m, s, t: m(s, t, tgt_mask=_causal(lib, T), src_key_padding_mask=lib.tensor(
            kpm), memory_key_padding_mask=lib.tensor(kpm)))
    # bool key padding masks with no float mask beside them: no warning

    assert [n for n, _ in e_mod.named_parameters()] == [n for n, _ in t_mod.named_parameters()]


def test_full_transformer_float32_train_mode_without_dropout():
    def make(nn):
        return nn.Transformer(E, HEADS, 1, 1, FF, dropout=0.0, activation="gelu")
    _compare(make, [_data(False, S, 0), _data(False, T, 1)], lambda lib, m, s, t: m(s, t),
             train=True, dtype="float32", rtol=1e-4, atol=1e-5)


def test_generate_square_subsequent_mask():
    for n in (1, 4):
        assert_same(ember.nn.Transformer.generate_square_subsequent_mask(n),
                    torch.nn.Transformer.generate_square_subsequent_mask(n))
    m = ember.nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64)
    assert m.dtype == ember.float64


def test_transformer_init_and_unbatched():
    e_mod = ember.nn.Transformer(E, HEADS, 1, 1, FF)
    for name, p in e_mod.named_parameters():
        if p.dim() > 1:  # xavier_uniform_ everywhere, as torch's _reset_parameters
            fan_out, fan_in = p.shape[0], p.shape[1]
            assert float(p.abs().max()) <= np.sqrt(6 / (fan_in + fan_out)) + 1e-6, name
    e_mod.eval()
    out = e_mod(ember.randn(S, E), ember.randn(T, E))
    assert out.shape == (T, E)


def test_dropout_active_only_in_training():
    layer = ember.nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.5)
    x = ember.randn(S, N, E)
    layer.eval()
    assert ember.equal(layer(x), layer(x))
    layer.train()
    assert not ember.equal(layer(x), layer(x))


@pytest.mark.parametrize("make", [
    lambda nn: nn.TransformerEncoderLayer(E, HEADS, FF),
    lambda nn: nn.TransformerDecoderLayer(E, HEADS, FF, norm_first=True, bias=False),
    lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, FF), 2,
                                     enable_nested_tensor=False),
    lambda nn: nn.Transformer(E, HEADS, 1, 1, FF),
    lambda nn: nn.TransformerEncoderLayer(E, HEADS, FF, activation=nn.GELU()),
])
def test_repr_matches_torch(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_repr(make)


def test_activation_flags_and_attributes():
    layer = ember.nn.TransformerEncoderLayer(E, HEADS, FF, activation="gelu")
    assert layer.activation is ember.nn.functional.gelu and layer.activation_relu_or_gelu == 2
    assert ember.nn.TransformerEncoderLayer(E, HEADS).activation_relu_or_gelu == 1
    assert ember.nn.TransformerEncoderLayer(
        E, HEADS, activation=ember.nn.functional.silu).activation_relu_or_gelu == 0
    enc = ember.nn.TransformerEncoder(layer, 3)
    assert enc.num_layers == 3 and enc.enable_nested_tensor and not enc.use_nested_tensor
    assert enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight


@pytest.mark.parametrize("call", [
    lambda nn, m: nn.TransformerEncoderLayer(E, HEADS, activation="tanh"),
    lambda nn, m: nn.Transformer(E, HEADS, 1, 1, FF)(m.zeros(S, N, E), m.zeros(T, N + 1, E)),
    lambda nn, m: nn.Transformer(E, HEADS, 1, 1, FF)(m.zeros(S, N, E), m.zeros(T, N, E + 1)),
    lambda nn, m: nn.Transformer(E, HEADS, 1, 1, FF, batch_first=True)(m.zeros(N, S, E),
                                                                       m.zeros(N + 1, T, E)),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as t_info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(torch.nn, torch)
    with pytest.raises(type(t_info.value)) as e_info:
        call(ember.nn, ember)
    assert str(e_info.value) == str(t_info.value)


def test_mixed_mask_types_warn_as_torch():
    layer = ember.nn.TransformerEncoderLayer(E, HEADS, FF)
    kpm = ember.zeros(N, S, dtype=ember.bool)
    with pytest.warns(UserWarning, match="^Support for mismatched src_key_padding_mask and "
                                         "src_mask is deprecated. Use same type for both "
                                         "instead.$"):
        layer(ember.randn(S, N, E), src_mask=ember.zeros(S, S), src_key_padding_mask=kpm)
