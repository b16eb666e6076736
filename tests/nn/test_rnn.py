"""RNN, LSTM, GRU and their cells against torch: outputs, final states and every gradient (input,
initial states, each weight) after loading torch's state_dict, for every combination of layers,
directions, batch_first, bias and packed input; second derivatives; errors and reprs."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from nn_check import copy_state, same_repr
from reference import assert_same, to_numpy

import ember
import ember.nn  # noqa: F401
from ember.autograd import gradcheck, gradgradcheck

T, B, I, H = 4, 3, 5, 6
LENGTHS = [4, 2, 3]  # unsorted: exercises sorted_indices / unsorted_indices


def _nn(lib):
    return lib.nn


def _pack(lib):
    return (torch.nn.utils.rnn if lib is torch else ember.nn.utils.rnn).pack_padded_sequence


def _run(lib, module, x, states, *, packed, batch_first, lstm):
    """Forward with leaf inputs built from NumPy arrays; returns (outputs, leaves)."""
    xt = lib.tensor(x, requires_grad=True)
    leaves = [xt]
    hx = None
    if states is not None:
        hs = [lib.tensor(s, requires_grad=True) for s in states]
        leaves += hs
        hx = tuple(hs) if lstm else hs[0]
    inp = _pack(lib)(xt, LENGTHS, batch_first=batch_first, enforce_sorted=False) if packed else xt
    out, h = module(inp, hx)
    if packed:
        out = out.data
    outs = [out] + (list(h) if lstm else [h])
    return outs, leaves


def _compare(name, kw, *, packed, with_state, dtype, rtol, atol, seed=0):
    torch.manual_seed(seed)
    t_mod = getattr(torch.nn, name)(I, H, **kw).to(getattr(torch, dtype))
    e_mod = getattr(ember.nn, name)(I, H, **kw).to(getattr(ember, dtype))
    copy_state(e_mod, t_mod)
    rng = np.random.default_rng(seed)
    bf = kw.get("batch_first", False)
    x = rng.standard_normal((B, T, I) if bf else (T, B, I)).astype(dtype)
    k = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    size = kw.get("proj_size") or H
    lstm = name == "LSTM"
    states = None
    if with_state:
        states = [rng.standard_normal((k, B, size)).astype(dtype)]
        if lstm:
            states.append(rng.standard_normal((k, B, H)).astype(dtype))
    t_outs, t_leaves = _run(torch, t_mod, x, states, packed=packed, batch_first=bf, lstm=lstm)
    e_outs, e_leaves = _run(ember, e_mod, x, states, packed=packed, batch_first=bf, lstm=lstm)
    for e, t in zip(e_outs, t_outs):
        assert_same(e, t, rtol, atol)
    weights = [rng.uniform(-1, 1, tuple(t.shape)).astype(dtype) for t in t_outs]
    sum(((o * torch.from_numpy(w)).sum() for o, w in zip(t_outs, weights))).backward()
    sum(((o * ember.from_numpy(w)).sum() for o, w in zip(e_outs, weights))).backward()
    for e, t in zip(e_leaves, t_leaves):
        assert_same(e.grad, t.grad, rtol * 10, atol * 10)
    t_params = dict(t_mod.named_parameters())
    for pname, p in e_mod.named_parameters():
        assert p.grad is not None, pname
        assert_same(p.grad, t_params[pname].grad, rtol * 10, atol * 10)


CONFIGS = [(name, layers, bidir, bf, bias, packed)
           for name, layers, bidir, bf, bias, packed in itertools.product(
               ["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True], [True, False],
               [False, True])]


@pytest.mark.parametrize("name, layers, bidir, bf, bias, packed", CONFIGS)
def test_layer_matches_torch_float64(name, layers, bidir, bf, bias, packed):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=bf, bias=bias)
    _compare(name, kw, packed=packed, with_state=True, dtype="float64", rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("packed", [False, True])
def test_layer_matches_torch_float32_without_state(name, packed):
    kw = dict(num_layers=2, bidirectional=True, batch_first=True)
    _compare(name, kw, packed=packed, with_state=False, dtype="float32", rtol=1e-5, atol=1e-5)


def test_relu_nonlinearity_matches_torch():
    for packed in (False, True):
        _compare("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True),
                 packed=packed, with_state=True, dtype="float64", rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layers, bidir, packed, bias", [
    (1, False, False, True), (2, True, False, True), (2, False, True, False),
    (1, True, True, True)])
def test_lstm_projection_matches_torch(layers, bidir, packed, bias):
    kw = dict(num_layers=layers, bidirectional=bidir, proj_size=2, bias=bias)
    _compare("LSTM", kw, packed=packed, with_state=True, dtype="float64", rtol=1e-10,
             atol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(name):
    torch.manual_seed(0)
    t_mod, e_mod = getattr(torch.nn, name)(I, H, num_layers=2), getattr(ember.nn, name)(I, H,
                                                                                       num_layers=2)
    copy_state(e_mod, t_mod)
    x = np.random.default_rng(1).standard_normal((T, I)).astype("float32")
    h = np.random.default_rng(2).standard_normal((2, H)).astype("float32")
    for lib, mod, res in ((torch, t_mod, []), (ember, e_mod, [])):
        out, hn = mod(lib.from_numpy(x))
        hx = (lib.from_numpy(h), lib.from_numpy(h)) if name == "LSTM" else lib.from_numpy(h)
        out2, hn2 = mod(lib.from_numpy(x), hx)
        res.extend([out, hn, out2, hn2])
        if lib is torch:
            t_res = res
        else:
            e_res = res
    for e, t in zip(e_res, t_res):
        assert_same(e, t, 1e-5, 1e-6)


@pytest.mark.parametrize("cell, batched, with_state, bias", list(itertools.product(
    ["RNNCell", "LSTMCell", "GRUCell"], [True, False], [True, False], [True, False])))
def test_cells_match_torch(cell, batched, with_state, bias):
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, cell)(I, H, bias=bias).double()
    e_mod = getattr(ember.nn, cell)(I, H, bias=bias).double()
    copy_state(e_mod, t_mod)
    rng = np.random.default_rng(0)
    shape = (B,) if batched else ()
    x = rng.standard_normal(shape + (I,))
    states = [rng.standard_normal(shape + (H,)) for _ in range(2 if cell == "LSTMCell" else 1)]
    results = {}
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        leaves = [lib.tensor(x, requires_grad=True)]
        hx = None
        if with_state:
            leaves += [lib.tensor(s, requires_grad=True) for s in states]
            hx = tuple(leaves[1:]) if cell == "LSTMCell" else leaves[1]
        out = mod(leaves[0], hx)
        outs = list(out) if isinstance(out, tuple) else [out]
        (sum((o * o).sum() for o in outs) + outs[0].sin().sum()).backward()
        results[lib] = (outs, leaves, [p.grad for p in mod.parameters()])
    (e_outs, e_leaves, e_grads), (t_outs, t_leaves, t_grads) = results[ember], results[torch]
    for e, t in zip(e_outs, t_outs):
        assert_same(e, t, 1e-10, 1e-12)
    for e, t in zip(e_leaves, t_leaves):
        assert_same(e.grad, t.grad, 1e-9, 1e-11)
    for e, t in zip(e_grads, t_grads):
        assert_same(e, t, 1e-9, 1e-11)


def test_relu_cell_and_loop_of_cells_equals_layer():
    torch.manual_seed(0)
    t_cell, e_cell = torch.nn.RNNCell(I, H, nonlinearity="relu"), ember.nn.RNNCell(
        I, H, nonlinearity="relu")
    copy_state(e_cell, t_cell)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype("float32")
    outs = {}
    for lib, cell in ((torch, t_cell), (ember, e_cell)):
        h = None
        xs = lib.from_numpy(x)
        for t in range(T):
            h = cell(xs[t], h)
        outs[lib] = h
    assert_same(outs[ember], outs[torch], 1e-5, 1e-6)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_sizes, reverse", [(None, False), ((2, 1, 1), True)])
def test_fused_layer_gradcheck_and_gradgradcheck(mode, batch_sizes, reverse):
    from ember.ops.rnn import rnn_layer

    rng = np.random.default_rng(0)
    g = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    hidden, n_in = 2, 2
    x = rng.standard_normal((4, n_in) if batch_sizes else (3, 2, n_in))
    batch = 2
    arrays = [x, rng.standard_normal((batch, hidden))]
    if mode == "LSTM":
        arrays.append(rng.standard_normal((batch, hidden)))
    arrays += [rng.standard_normal(s) * 0.5 for s in [(g * hidden, n_in), (g * hidden, hidden),
                                                      (g * hidden,), (g * hidden,)]]
    inputs = tuple(ember.from_numpy(a).requires_grad_() for a in arrays)

    def fn(*xs):
        c = xs[2] if mode == "LSTM" else None
        ws = xs[3:] if mode == "LSTM" else xs[2:]
        out, h, cn = rnn_layer(xs[0], xs[1], c, *ws, None, mode=mode, batch_sizes=batch_sizes,
                               reverse=reverse)
        return (out, h) if cn is None else (out, h, cn)

    assert gradcheck(fn, inputs)
    # second order: the input, the initial state and the recurrent weight vary, the rest is fixed
    n = len(inputs)
    rec = n - 3

    def fn2(x, h, w_hh):
        xs = list(inputs)
        xs[0], xs[1], xs[rec] = x, h, w_hh
        return fn(*xs)

    assert gradgradcheck(fn2, (inputs[0], inputs[1], inputs[rec]))


def test_lstm_double_backward_matches_torch():
    torch.manual_seed(0)
    t_mod, e_mod = torch.nn.LSTM(3, 4, proj_size=2).double(), ember.nn.LSTM(3, 4, proj_size=2)
    e_mod.double()
    copy_state(e_mod, t_mod)
    x = np.random.default_rng(0).standard_normal((3, 2, 3))
    res = {}
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        xt = lib.tensor(x, requires_grad=True)
        out, _ = mod(xt)
        (gx,) = lib.autograd.grad(out.pow(2).sum(), xt, create_graph=True)
        gx.pow(2).sum().backward()
        res[lib] = [gx, xt.grad] + [p.grad for p in mod.parameters()]
    for e, t in zip(res[ember], res[torch]):
        assert_same(e, t, 1e-9, 1e-11)


def test_parameters_names_shapes_and_init():
    lstm = ember.nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=2)
    t_lstm = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=2)
    e_shapes = [(n, tuple(p.shape)) for n, p in lstm.named_parameters()]
    t_shapes = [(n, tuple(p.shape)) for n, p in t_lstm.named_parameters()]
    assert e_shapes == t_shapes
    assert lstm._flat_weights_names == t_lstm._flat_weights_names
    assert [w is p for w, p in zip(lstm._flat_weights, lstm.parameters())] == [True] * 20
    assert [[tuple(w.shape) for w in ws] for ws in lstm.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in t_lstm.all_weights]
    bound = 1 / np.sqrt(H)
    for p in lstm.parameters():
        a = to_numpy(p)
        assert a.min() >= -bound and a.max() <= bound and a.std() > bound / 4
    lstm.flatten_parameters()  # a no-op, as on torch's CPU path
    gru = ember.nn.GRU(I, H, bias=False)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    gru.weight_ih_l0 = ember.nn.Parameter(ember.zeros(3 * H, I))
    assert gru._flat_weights[0] is gru.weight_ih_l0


def test_state_dict_round_trip_and_dtype_move():
    torch.manual_seed(0)
    t_mod = torch.nn.GRU(I, H, num_layers=2)
    e_mod = ember.nn.GRU(I, H, num_layers=2)
    copy_state(e_mod, t_mod)
    back = {k: torch.from_numpy(to_numpy(v)) for k, v in e_mod.state_dict().items()}
    for k, v in t_mod.state_dict().items():
        assert torch.equal(back[k], v)
    e_mod.double()
    assert e_mod._flat_weights[0].dtype == ember.float64
    out, h = e_mod(ember.zeros(T, B, I, dtype=ember.float64))
    assert out.dtype == ember.float64 and h.shape == (2, B, H)


@pytest.mark.parametrize("make", [
    lambda nn: nn.RNN(1, 32, batch_first=True), lambda nn: nn.LSTM(28, 64, batch_first=True),
    lambda nn: nn.GRU(3, 4, num_layers=2, bias=False, dropout=0.5, bidirectional=True),
    lambda nn: nn.LSTM(3, 4, proj_size=2), lambda nn: nn.RNN(3, 4, 2, "relu"),
    lambda nn: nn.RNNCell(4, 5, bias=False, nonlinearity="relu"), lambda nn: nn.LSTMCell(4, 5),
    lambda nn: nn.GRUCell(4, 5, bias=False),
])
def test_repr_matches_torch(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_repr(make)


def test_dropout_between_layers_only_in_training():
    mod = ember.nn.LSTM(I, H, num_layers=2, dropout=0.5)
    x = ember.randn(T, B, I)
    mod.eval()
    a, _ = mod(x)
    b, _ = mod(x)
    assert ember.equal(a, b)
    mod.train()
    c, _ = mod(x)
    d, _ = mod(x)
    assert not ember.equal(c, d)


def test_dropout_warning_text_matches_torch():
    with warnings.catch_warnings(record=True) as e_w:
        warnings.simplefilter("always")
        ember.nn.RNN(I, H, dropout=0.5)
    with warnings.catch_warnings(record=True) as t_w:
        warnings.simplefilter("always")
        torch.nn.RNN(I, H, dropout=0.5)
    assert [str(w.message) for w in e_w] == [str(w.message) for w in t_w]
    assert e_w[0].category is UserWarning


@pytest.mark.parametrize("make", [
    lambda nn: nn.RNN(I, H, nonlinearity="sigmoid"), lambda nn: nn.RNN(I, H, dropout=2),
    lambda nn: nn.RNN(I, H, dropout=True), lambda nn: nn.GRU(I, H, proj_size=2),
    lambda nn: nn.RNN(I, H, proj_size=2), lambda nn: nn.LSTM(I, H, proj_size=H),
    lambda nn: nn.LSTM(I, H, proj_size=-1), lambda nn: nn.LSTM(I, 0),
    lambda nn: nn.LSTM(0, H), lambda nn: nn.LSTM(I, H, num_layers=0),
    lambda nn: nn.LSTM(I, H, bias=1), lambda nn: nn.LSTM(I, H, batch_first=1),
    lambda nn: nn.LSTM(2.5, H), lambda nn: nn.LSTM(I, 2.5),
])
def test_constructor_errors_match_torch(make):
    with pytest.raises(Exception) as t_info:
        make(torch.nn)
    with pytest.raises(type(t_info.value)) as e_info:
        make(ember.nn)
    assert str(e_info.value) == str(t_info.value)


def _same_forward_error(make, call):
    torch.manual_seed(0)
    t_mod = make(torch.nn)
    e_mod = make(ember.nn)
    with pytest.raises(Exception) as t_info:
        call(torch, t_mod)
    with pytest.raises(type(t_info.value)) as e_info:
        call(ember, e_mod)
    assert str(e_info.value) == str(t_info.value).replace("torch.", "ember.")


@pytest.mark.parametrize("make, call", [
    (lambda nn: nn.LSTM(28, 64), lambda m, mod: mod(m.zeros(5, 2, 27))),
    (lambda nn: nn.RNN(I, H), lambda m, mod: mod(m.zeros(T, B, I), m.zeros(1, B + 1, H))),
    (lambda nn: nn.RNN(I, H), lambda m, mod: mod(m.zeros(T, B, I), m.zeros(B, H))),
    (lambda nn: nn.GRU(I, H), lambda m, mod: mod(m.zeros(T, I), m.zeros(1, 1, H))),
    (lambda nn: nn.LSTM(I, H), lambda m, mod: mod(m.zeros(T, B, I),
                                                  (m.zeros(1, B, H), m.zeros(1, B, H + 1)))),
    (lambda nn: nn.LSTM(I, H), lambda m, mod: mod(m.zeros(T, B, I),
                                                  (m.zeros(1, B + 1, H), m.zeros(1, B, H)))),
    (lambda nn: nn.LSTM(I, H), lambda m, mod: mod(m.zeros(T, B, I), (m.zeros(B, H),
                                                                     m.zeros(B, H)))),
    (lambda nn: nn.LSTM(I, H), lambda m, mod: mod(m.zeros(T, B, I, dtype=m.float64))),
    (lambda nn: nn.RNN(I, H), lambda m, mod: mod(m.zeros(2, T, B, I))),
    (lambda nn: nn.LSTM(I, H), lambda m, mod: mod(m.zeros(2, T, B, I))),
    (lambda nn: nn.GRU(I, H), lambda m, mod: mod(m.zeros(0, B, I))),
    (lambda nn: nn.LSTMCell(I, H), lambda m, mod: mod(m.zeros(B, I + 1))),
    (lambda nn: nn.LSTMCell(I, H), lambda m, mod: mod(m.zeros(B, I), (m.zeros(B, H + 1),
                                                                       m.zeros(B, H)))),
    (lambda nn: nn.GRUCell(I, H), lambda m, mod: mod(m.zeros(B, I), m.zeros(B - 1, H))),
    (lambda nn: nn.GRUCell(I, H), lambda m, mod: mod(m.zeros(B, I, dtype=m.float64))),
    (lambda nn: nn.RNNCell(I, H), lambda m, mod: mod(m.zeros(B, I, dtype=m.int64))),
    (lambda nn: nn.LSTMCell(I, H).double(), lambda m, mod: mod(m.zeros(B, I, dtype=m.int32))),
    (lambda nn: nn.RNNCell(I, H), lambda m, mod: mod(m.zeros(2, B, I))),
    (lambda nn: nn.RNNCell(I, H, nonlinearity="foo"), lambda m, mod: mod(m.zeros(B, I))),
])
def test_forward_errors_match_torch(make, call):
    _same_forward_error(make, call)


def test_input_size_error_text():
    with pytest.raises(RuntimeError, match="^input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 28, got 27$"):
        ember.nn.LSTM(28, 64, batch_first=True)(ember.zeros(2, 5, 27))


def test_weight_changed_in_place_before_backward_is_an_error():
    mod = ember.nn.GRU(I, H)
    out, _ = mod(ember.randn(T, B, I))
    with ember.no_grad():
        mod.weight_hh_l0.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_packed_output_and_state_order():
    torch.manual_seed(0)
    t_mod, e_mod = torch.nn.LSTM(I, H), ember.nn.LSTM(I, H)
    copy_state(e_mod, t_mod)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype("float32")
    t_out, (t_h, t_c) = t_mod(torch.nn.utils.rnn.pack_padded_sequence(
        torch.from_numpy(x), LENGTHS, enforce_sorted=False))
    e_out, (e_h, e_c) = e_mod(ember.nn.utils.rnn.pack_padded_sequence(
        ember.from_numpy(x), LENGTHS, enforce_sorted=False))
    assert type(e_out).__name__ == "PackedSequence"
    assert e_out.batch_sizes.tolist() == t_out.batch_sizes.tolist()
    assert e_out.sorted_indices.tolist() == t_out.sorted_indices.tolist()
    assert e_out.unsorted_indices.tolist() == t_out.unsorted_indices.tolist()
    assert_same(e_h, t_h, 1e-5, 1e-6)
    assert_same(e_c, t_c, 1e-5, 1e-6)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out)
    e_pad, e_len = ember.nn.utils.rnn.pad_packed_sequence(e_out)
    assert_same(e_pad, t_pad, 1e-5, 1e-6)
    assert e_len.tolist() == t_len.tolist()


def test_outputs_do_not_alias_each_other():
    mod = ember.nn.RNN(I, H)
    out, h = mod(ember.randn(T, 1, I))
    before = h.clone()
    out.mul_(0)
    assert ember.equal(h, before)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("lengths", [None, LENGTHS, [T, T, T]])
def test_inference_path_matches_torch(name, lengths):
    """Under no_grad nothing is kept for backward (and the input projection runs per step)."""
    torch.manual_seed(0)
    kw = dict(num_layers=2, bidirectional=True)
    t_mod, e_mod = getattr(torch.nn, name)(I, H, **kw), getattr(ember.nn, name)(I, H, **kw)
    copy_state(e_mod, t_mod)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype("float32")
    outs = {}
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        inp = lib.from_numpy(x)
        if lengths is not None:
            inp = _pack(lib)(inp, lengths, enforce_sorted=False)
        with lib.no_grad():
            out, h = mod(inp)
        outs[lib] = [out.data if lengths is not None else out] + (list(h) if name == "LSTM"
                                                                  else [h])
    for e, t in zip(outs[ember], outs[torch]):
        assert_same(e, t, 1e-5, 1e-6)
        assert not e.requires_grad


def test_changing_the_final_state_in_place_leaves_backward_intact():
    torch.manual_seed(0)
    t_mod, e_mod = torch.nn.RNN(I, H), ember.nn.RNN(I, H)
    copy_state(e_mod, t_mod)
    x = np.random.default_rng(0).standard_normal((T, 1, I)).astype("float32")
    grads = {}
    for lib, mod in ((torch, t_mod), (ember, e_mod)):
        out, h = mod(lib.from_numpy(x))
        loss = out.sum()
        h.data.zero_()
        loss.backward()
        grads[lib] = mod.weight_hh_l0.grad
    assert_same(grads[ember], grads[torch], 1e-5, 1e-6)
