"""ember.onnx.export: every exported model passes onnx.checker and onnxruntime reproduces ember's
outputs (atol 1e-4), for the tutorials' models and for each converted op, with dynamic batch
sizes run at two sizes."""

import io
import math
import os
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
import ember.onnx
from ember.onnx import OperatorExportTypes, TrainingMode
from ember.onnx._trace import flatten_tensors
from ember.onnx.errors import OnnxExporterWarning, SymbolicValueError, UnsupportedOperatorError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _export(model, args, **kwargs):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    return proto, buf.getvalue()


def _run_ember(model, feeds):
    with ember.no_grad():
        out = model(*[ember.from_numpy(f) for f in feeds])
    return [t.numpy() for t in flatten_tensors(out)]


def roundtrip(model, shapes, dynamic=None, opset=None, dtypes=None, make=None, grow=(0, 3),
              atol=1e-4, **kwargs):
    """Export ``model`` for inputs of ``shapes`` and compare onnxruntime with ember.

    ``dynamic``: per input, the axes that are dynamic; every run adds ``grow`` to them.
    ``make(shape, i)``: builds input ``i`` (default: standard normal float32).
    """
    if isinstance(model, nn.Module):
        model.eval()
    dynamic = dynamic or [()] * len(shapes)
    dtypes = dtypes or [np.float32] * len(shapes)
    rng = np.random.default_rng(0)

    def inputs(extra):
        out = []
        for i, (s, axes) in enumerate(zip(shapes, dynamic)):
            s = [n + (extra if k in axes else 0) for k, n in enumerate(s)]
            if make is not None:
                out.append(make(s, i))
            else:
                out.append(rng.standard_normal(s).astype(dtypes[i]))
        return out

    names = [f"x{i}" for i in range(len(shapes))]
    axes = {n: {k: f"d{k}" for k in d} for n, d in zip(names, dynamic) if d}
    example = tuple(ember.from_numpy(a) for a in inputs(0))
    proto, data = _export(model, example, input_names=names, dynamic_axes=axes or None,
                          opset_version=opset, **kwargs)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for extra in grow if axes else (0,):
        feeds = inputs(extra)
        got = sess.run(None, dict(zip(names, feeds)))
        want = _run_ember(model, feeds)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape, (g.shape, w.shape)
            np.testing.assert_allclose(g, w, atol=atol, rtol=1e-4)
    return proto


class Fn(nn.Module):
    """A module around a function of the inputs (for op tests)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


# --- the tutorials' models ------------------------------------------------------------------------


class MnistNet(nn.Module):
    """Seed 000's MNIST Net (PyTorch's examples/mnist)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = ember.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


class LeNet(nn.Module):
    """Seed 001's LeNet."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size()[0], -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class ConvLayer(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


class CifarCNN(nn.Module):
    """Seed 004's CIFAR CNN (with the max-pool fix)."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32)
        self.conv2 = ConvLayer(32, 64)
        self.conv3 = ConvLayer(64, 128)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(128 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(self.conv1(x))
        x = self.pool(self.conv2(x))
        x = self.pool(self.conv3(x))
        return self.fc1(x.view(x.size(0), -1))


class LSTMClassifier(nn.Module):
    """Seed 002's LSTM reading an image row by row."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 64, batch_first=True)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        r_out, (h_n, h_c) = self.rnn(x, None)
        return self.out(r_out[:, -1, :])


class Attention(nn.Module):
    """Multi-head self-attention written with primitives (batch-first)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.reshape(b, t, h, d // h).transpose(1, 2)
        k = k.reshape(b, t, h, d // h).transpose(1, 2)
        v = v.reshape(b, t, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.attn = Attention(d, heads)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Dropout(0.1), nn.Linear(ff, d))
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        x = self.norm1(x + self.drop(self.attn(x)))
        return self.norm2(x + self.drop(self.ff(x)))


class Encoder(nn.Module):
    """A small Transformer encoder: token embedding, learned positions, two layers, a head."""

    def __init__(self, vocab=50, d=32, heads=4, ff=64, max_len=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(ember.randn(1, max_len, d) * 0.02)
        self.layers = nn.ModuleList([EncoderLayer(d, heads, ff) for _ in range(2)])
        self.head = nn.Linear(d, 3)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[:, :tokens.shape[1]]
        for layer in self.layers:
            x = layer(x)
        return self.head(x.mean(dim=1))


def test_mnist_net_dynamic_batch():
    ember.manual_seed(0)
    proto = roundtrip(MnistNet(), [(1, 1, 28, 28)], dynamic=[(0,)])
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert [o.type.tensor_type.shape.dim[0].dim_param for o in proto.graph.output] == ["d0"]


def test_lenet():
    ember.manual_seed(0)
    roundtrip(LeNet(), [(2, 1, 32, 32)], dynamic=[(0,)])


def test_cifar_cnn():
    ember.manual_seed(0)
    roundtrip(CifarCNN(), [(2, 3, 32, 32)], dynamic=[(0,)])


class VGG11BN(nn.Module):
    """VGG-11-BN as ember.vision builds it (``make_layers(cfgs["A"], batch_norm=True)``, the 7x7
    adaptive pool, flatten), with a small classifier: the 120M-parameter one is too slow for a
    unit test and adds nothing but two more Gemm nodes."""

    def __init__(self, vgg):
        super().__init__()
        self.features = vgg.make_layers(vgg.cfgs["A"], batch_norm=True)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 32), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(32, 10))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(ember.flatten(x, 1))


def test_vgg11_bn():
    vgg = pytest.importorskip("ember.vision.models.vgg")
    ember.manual_seed(0)
    model = VGG11BN(vgg)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    proto = roundtrip(model, [(1, 3, 32, 32)], dynamic=[(0,)], grow=(0, 1))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Conv") == 8 and ops.count("BatchNormalization") == 8, ops
    assert ops.count("MaxPool") + ops.count("GlobalMaxPool") == 5 and ops.count("Gemm") == 2, ops


class CifarGlobalPool(nn.Module):
    """Seed 004's other fix: global average pooling (any image size)."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 8)
        self.conv2 = ConvLayer(8, 16)
        self.pool = nn.MaxPool2d(2, 2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.gap(self.conv2(self.pool(self.conv1(x))))
        return self.fc1(x.view(x.size(0), -1))


def test_dynamic_image_size():
    ember.manual_seed(0)
    roundtrip(CifarGlobalPool(), [(2, 3, 16, 16)], dynamic=[(0, 2, 3)], grow=(0, 2))
    roundtrip(CifarCNN(), [(1, 3, 32, 32)], dynamic=[(2, 3)], grow=(0, 1))  # 33 pools to 4 too
    with pytest.raises(UnsupportedOperatorError, match="'pads' of a pooling changes"):
        _export(Fn(lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True)), (ember.randn(1, 3, 8, 8),),
                dynamic_axes={"input": [2, 3]})


def test_lstm_classifier():
    ember.manual_seed(0)
    proto = roundtrip(LSTMClassifier(), [(3, 28, 28)], dynamic=[(0,)])
    assert "LSTM" in {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gru(bidirectional):
    ember.manual_seed(0)
    model = Fn(nn.GRU(5, 8, num_layers=2, bidirectional=bidirectional))
    roundtrip(model, [(6, 3, 5), (4 if bidirectional else 2, 3, 8)], dynamic=[(1,), (1,)])


@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True),
                                dict(batch_first=True, bias=False)])
def test_lstm_options(kw):
    ember.manual_seed(0)
    lstm = nn.LSTM(4, 6, **kw)
    batch_axis = 0 if kw.get("batch_first") else 1
    shape = [7, 7]
    shape[batch_axis] = 2
    roundtrip(Fn(lstm), [tuple(shape) + (4,)], dynamic=[(batch_axis,)])


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn(nonlinearity):
    ember.manual_seed(0)
    roundtrip(Fn(nn.RNN(3, 5, nonlinearity=nonlinearity)), [(4, 2, 3), (1, 2, 5)],
              dynamic=[(1,), (1,)])


def test_unbatched_lstm_with_state():
    ember.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    roundtrip(Fn(lambda x, h, c: lstm(x, (h, c))), [(5, 3), (1, 4), (1, 4)])


def test_transformer_encoder():
    ember.manual_seed(0)
    model = Encoder()

    def tokens(shape, i):
        return np.random.default_rng(1).integers(0, 50, size=shape).astype(np.int64)

    proto = roundtrip(model, [(2, 8)], dynamic=[(0, 1)], make=tokens)
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gather", "LayerNormalization", "Softmax", "MatMul", "Erf"} <= ops, ops


def test_transformer_encoder_opset13_decomposes_layer_norm():
    ember.manual_seed(0)

    def tokens(shape, i):
        return np.random.default_rng(2).integers(0, 50, size=shape).astype(np.int64)

    proto = roundtrip(Encoder(), [(2, 8)], dynamic=[(0,)], make=tokens, opset=13)
    assert "LayerNormalization" not in {n.op_type for n in proto.graph.node}


def test_resnet18_inplace_residuals():
    models = pytest.importorskip("ember.vision.models")
    ember.manual_seed(0)
    model = models.resnet18(num_classes=5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    roundtrip(model, [(1, 3, 32, 32)], dynamic=[(0,)], grow=(0, 1))


# --- ops -----------------------------------------------------------------------------------------

# (name, function, input shapes); inputs are standard normal float32
OPS = [
    ("relu", F.relu, [(2, 5)]),
    ("relu_inplace", lambda x: F.relu(x * 1.0, inplace=True) + 1, [(2, 5)]),
    ("sigmoid", ember.sigmoid, [(2, 5)]),
    ("tanh", ember.tanh, [(2, 5)]),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [(2, 5)]),
    ("elu", lambda x: F.elu(x, 0.7), [(2, 5)]),
    ("selu", F.selu, [(2, 5)]),
    ("celu", lambda x: F.celu(x, 1.3), [(2, 5)]),
    ("gelu", F.gelu, [(2, 5)]),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [(2, 5)]),
    ("softplus", lambda x: F.softplus(x * 10, beta=2, threshold=5), [(2, 5)]),
    ("silu", F.silu, [(2, 5)]),
    ("mish", F.mish, [(2, 5)]),
    ("hardswish", F.hardswish, [(2, 5)]),
    ("hardsigmoid", F.hardsigmoid, [(2, 5)]),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.5), [(2, 5)]),
    ("relu6", lambda x: F.relu6(x * 4), [(2, 5)]),
    ("logsigmoid", F.logsigmoid, [(2, 5)]),
    ("softshrink", lambda x: F.softshrink(x, 0.3), [(2, 5)]),
    ("hardshrink", lambda x: F.hardshrink(x, 0.3), [(2, 5)]),
    ("threshold", lambda x: F.threshold(x, 0.1, -2.0), [(2, 5)]),
    ("softmax", lambda x: F.softmax(x, dim=1), [(2, 5, 3)]),
    ("log_softmax", lambda x: F.log_softmax(x, dim=-1), [(2, 5)]),
    ("arith", lambda x, y: (x + 2) * y - x / 3 + 2 ** y.clamp(-2, 2) - 1.5 * y, [(2, 5), (5,)]),
    ("add_alpha", lambda x, y: ember.add(x, y, alpha=2) - ember.sub(x, y, alpha=0.5),
     [(3, 4), (3, 4)]),
    ("pow", lambda x: x.abs() ** 1.5 + x ** 2 + x.pow(3), [(2, 5)]),
    ("unary", lambda x: ember.exp(x) + ember.log(x.abs() + 1) + ember.sqrt(x.abs())
     + ember.rsqrt(x.abs() + 1) + ember.sin(x) + ember.cos(x) + ember.erf(x) + x.neg()
     + x.reciprocal() * 0 + ember.atan(x) + x.square() + ember.log1p(x.abs())
     + ember.expm1(x) + ember.log2(x.abs() + 1) + ember.floor(x) + ember.ceil(x)
     + ember.round(x * 3) + ember.trunc(x * 3) + ember.sign(x) + x.frac(), [(3, 4)]),
    ("clamp", lambda x: x.clamp(-0.5, 0.7) + x.clamp(min=0) + x.clamp(max=0.1), [(3, 4)]),
    ("clamp_tensor", lambda x, lo: ember.clamp(x, lo, lo + 1), [(3, 4), (4,)]),
    ("max_min", lambda x, y: ember.maximum(x, y) - ember.minimum(x, y), [(3, 4), (3, 4)]),
    ("where", lambda x, y: ember.where(x > y, x, y * 2), [(3, 4), (3, 4)]),
    ("compare", lambda x, y: ((x > y) | (x <= 0.2)) & ~(x == y) ^ (x != 0), [(3, 4), (4,)]),
    ("masked_fill", lambda x: x.masked_fill(x < 0, -1.0), [(3, 4)]),
    ("lerp_addcmul", lambda x, y: ember.lerp(x, y, 0.3) + ember.addcmul(x, x, y, value=0.5)
     + ember.addcdiv(x, x, y.abs() + 1, value=2), [(3, 4), (3, 4)]),
    ("sum_mean", lambda x: x.sum() + x.sum(1).mean() + x.mean((0, 2), keepdim=True).sum(),
     [(2, 3, 4)]),
    ("prod", lambda x: x.prod(1), [(2, 3, 4)]),
    ("amax_max_dim", lambda x: (x.amax(1), x.max(dim=2)[0], x.max(dim=2)[1], x.max(),
                                x.min(dim=0, keepdim=True)[0]), [(2, 3, 4)]),
    ("argmax", lambda x: (x.argmax(), x.argmax(1), x.argmin(dim=2, keepdim=True)), [(2, 3, 4)]),
    ("var_std", lambda x: (x.var(1), x.std((0, 2), keepdim=True), x.var(1, correction=0)),
     [(2, 3, 4)]),
    ("norm", lambda x: (x.norm(), ember.linalg.vector_norm(x, 1, dim=1),
                        ember.linalg.vector_norm(x, float("inf"), dim=-1),
                        ember.linalg.vector_norm(x, 3, dim=0)), [(2, 3, 4)]),
    ("normalize", lambda x: F.normalize(x, dim=1), [(3, 4)]),
    ("logsumexp", lambda x: ember.logsumexp(x, dim=1), [(3, 4)]),
    ("cumsum", lambda x: ember.cumsum(x, dim=1), [(3, 4)]),
    ("all_any", lambda x: ((x > 0).all(1), (x > 1).any()), [(3, 4)]),
    ("reshape", lambda x: (x.view(2, -1), x.reshape(4, 2, 3), ember.flatten(x, 1),
                           x.flatten()), [(2, 3, 4)]),
    ("permute", lambda x: (x.permute(2, 0, 1), x.transpose(0, 2), x.t() if x.ndim == 2 else x,
                           x.mT), [(2, 3, 4)]),
    ("squeeze", lambda x: (x.squeeze(1), x.unsqueeze(0).unsqueeze(-1), x.squeeze()),
     [(2, 1, 4)]),
    ("expand", lambda x: (x.expand(3, 2, 4), x[:, :1].expand(-1, 5), x.expand_as(
        ember.zeros(2, 2, 4))), [(2, 4)]),
    ("cat_stack", lambda x, y: (ember.cat([x, y], 1), ember.stack([x, y], 0),
                                ember.stack([x, y], -1)), [(2, 3), (2, 3)]),
    ("split_chunk", lambda x: (*x.split(2, dim=1), *x.chunk(3, dim=0), x.narrow(1, 1, 2)),
     [(3, 5)]),
    ("unbind_select", lambda x: (*x.unbind(1), x.select(0, -1), x[1]), [(3, 2)]),
    ("indexing", lambda x: (x[:, 1:3], x[..., -1], x[None, 0, ::2], x[1:, None, :2],
                            x[:, [0, 2]], x[[1, 0]]), [(3, 4)]),
    ("index_tensor", lambda x, i: x[i], [(5, 3), (4,)]),
    ("masks_and_pairs", lambda x: (x[x > 0], x[:, ember.tensor([True, False, True, True])],
                                   x[[0, 2], [1, 3]], x[ember.tensor([[0, 1], [2, 2]])]),
     [(3, 4)]),
    ("gather", lambda x: (x.gather(1, ember.tensor([[0, 0], [1, 0], [3, 2]])),
                          x.index_select(1, ember.tensor([3, 1]))), [(3, 4)]),
    ("flip_roll", lambda x: (x.flip(0), x.flip((0, 1)), x.roll(1, 1), x.roll(-2),
                             ember.roll(x, (1, 2), (0, 1))), [(3, 4)]),
    ("repeat", lambda x: (x.repeat(2, 3), x.repeat(2, 1, 1), x.tile((2,)),
                          x.repeat_interleave(2, dim=0)), [(2, 3)]),
    ("tril_triu", lambda x: (x.tril(), x.triu(1), ember.tril(x, -1)), [(4, 4)]),
    ("matmul", lambda a, b, c: (a @ b, ember.bmm(c, c.transpose(1, 2)), ember.mm(a, b),
                                ember.einsum("ij,jk->ik", a, b), ember.addmm(a[:, :1], a, b),
                                a @ b[:, 0]), [(3, 4), (4, 5), (2, 3, 4)]),
    ("casts", lambda x: (x.long(), x.int() + 1, (x > 0).float(), x.double() * 2, x.half().float(),
                         x.to(ember.float64)), [(3, 4)]),
    ("int_ops", lambda x: (x.long() // 2, x.long() % 3, ember.div(x, 0.7, rounding_mode="floor"),
                           ember.div(x.long(), 2, rounding_mode="trunc"), ember.fmod(x, 0.4),
                           ember.remainder(x, 0.4), x.long() * 2 - 1), [(3, 4)]),
    ("contiguous_clone", lambda x: (x.t().contiguous(), x.clone(), x.detach() + 1), [(3, 4)]),
    ("zeros_like_full", lambda x: (ember.zeros_like(x) + x, ember.ones_like(x) * 2,
                                   ember.full_like(x, 3.0)), [(3, 4)]),
    ("pad", lambda x: (F.pad(x, (1, 2)), F.pad(x, (1, 1, 2, 0), value=0.5),
                       F.pad(x, (2, 1, 1, 2), mode="reflect"),
                       F.pad(x, (1, 1, 1, 1), mode="replicate"),
                       F.pad(x, (1, 2, 2, 1), mode="circular")), [(2, 2, 4, 5)]),
    ("pixel_shuffle", lambda x: (F.pixel_shuffle(x, 2), F.pixel_unshuffle(x, 2)), [(2, 8, 4, 6)]),
    ("interpolate", lambda x: (F.interpolate(x, scale_factor=2), F.interpolate(
        x, size=(5, 7), mode="bilinear", align_corners=False), F.interpolate(
        x, size=(3, 9), mode="bilinear", align_corners=True)), [(2, 3, 4, 6)]),
]


@pytest.mark.parametrize("name,fn,shapes", OPS, ids=[o[0] for o in OPS])
def test_op(name, fn, shapes):
    if name == "index_tensor":
        def make(shape, i):
            if i == 1:
                return np.array([4, 0, 2, 2], dtype=np.int64)
            return np.random.default_rng(0).standard_normal(shape).astype(np.float32)

        roundtrip(Fn(fn), shapes, make=make)
        return
    roundtrip(Fn(fn), shapes)


# functions whose every size follows the batch (dim 0 of the first input)
DYNAMIC_OPS = [o for o in OPS if o[0] in (
    "relu", "softmax", "arith", "sum_mean", "cat_stack", "indexing", "var_std", "unbind_select",
    "norm", "compare", "casts", "pad", "interpolate")] + [
    ("reshape", lambda x: (x.view(x.size(0), -1), x.reshape(-1, 4), ember.flatten(x, 1),
                           x.flatten(), x.reshape(x.shape[0] * 3, 4), x.unflatten(1, (1, 3))),
     [(2, 3, 4)]),
    ("expand", lambda x: (x[:, :1].expand(-1, 5), x.unsqueeze(1).expand(x.size(0), 3, 4),
                          x.expand_as(x), x[:1].expand(x.size(0), 4)), [(2, 4)]),
    ("split", lambda x: (*x.split(2, dim=1), *x.chunk(2, dim=1), x.narrow(1, 1, 2),
                         x[:x.size(0) - 1], x[1:], x.narrow(0, 0, x.size(0))), [(3, 5)]),
    ("matmul", lambda a, b: (a @ b, ember.einsum("bij,jk->bik", a, b), a.transpose(1, 2) @ a),
     [(2, 3, 4), (4, 5)]),
]


@pytest.mark.parametrize("name,fn,shapes", DYNAMIC_OPS, ids=[o[0] for o in DYNAMIC_OPS])
def test_op_dynamic_batch(name, fn, shapes):
    # dim 0 is dynamic in the inputs that share the first input's leading size
    roundtrip(Fn(fn), shapes, dynamic=[(0,) if s[0] == shapes[0][0] else () for s in shapes])


LAYERS = [
    ("conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    ("conv2d_groups_dilation", lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),
     (2, 4, 7, 8)),
    ("conv2d_same", lambda: nn.Conv2d(3, 4, (3, 4), padding="same"), (2, 3, 6, 7)),
    ("conv2d_reflect", lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
     (2, 3, 6, 7)),
    ("conv3d", lambda: nn.Conv3d(2, 3, 2, stride=(1, 2, 1)), (2, 2, 4, 5, 4)),
    ("conv_transpose2d", lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                    output_padding=1), (2, 4, 5, 6)),
    ("conv_transpose1d_groups", lambda: nn.ConvTranspose1d(4, 6, 3, groups=2, dilation=2),
     (2, 4, 7)),
    ("maxpool_ceil", lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), (2, 3, 8, 9)),
    ("maxpool_dilation", lambda: nn.MaxPool2d(2, 1, dilation=2), (2, 3, 6, 6)),
    ("maxpool1d", lambda: nn.MaxPool1d(3, 2), (2, 3, 9)),
    ("avgpool", lambda: nn.AvgPool2d(3, 2, padding=1), (2, 3, 8, 9)),
    ("avgpool_no_pad_count", lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False,
                                                  ceil_mode=True), (2, 3, 8, 9)),
    ("avgpool_divisor", lambda: nn.AvgPool2d(2, divisor_override=3), (2, 3, 8, 8)),
    ("adaptive_avg_global", lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    ("adaptive_avg_uneven", lambda: nn.AdaptiveAvgPool2d((3, 4)), (2, 3, 7, 9)),
    ("adaptive_avg_3d", lambda: nn.AdaptiveAvgPool3d((2, 3, 2)), (2, 2, 5, 7, 3)),
    ("adaptive_max", lambda: nn.AdaptiveMaxPool2d((2, 3)), (2, 3, 4, 6)),
    ("batchnorm1d", lambda: nn.BatchNorm1d(4), (3, 4)),
    ("batchnorm2d_no_affine", lambda: nn.BatchNorm2d(3, affine=False), (2, 3, 4, 5)),
    ("layernorm", lambda: nn.LayerNorm((4, 5)), (2, 3, 4, 5)),
    ("layernorm_no_affine", lambda: nn.LayerNorm(5, elementwise_affine=False), (2, 3, 5)),
    ("groupnorm", lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    ("instancenorm", lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
    ("prelu", lambda: nn.PReLU(3, 0.3), (2, 3, 4)),
    ("dropout_eval", lambda: nn.Sequential(nn.Dropout(0.5), nn.Dropout2d(0.3),
                                           nn.AlphaDropout(0.2)), (2, 3, 4, 5)),
    ("linear_3d", lambda: nn.Linear(4, 3), (2, 5, 4)),
    ("linear_1d_no_bias", lambda: nn.Linear(4, 3, bias=False), (4,)),
    ("bilinear_upsample", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 3, 4)),
    ("flatten_unflatten", lambda: nn.Sequential(nn.Flatten(), nn.Unflatten(1, (4, 6))),
     (2, 2, 3, 4)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[x[0] for x in LAYERS])
def test_layer(name, make, shape):
    ember.manual_seed(0)
    layer = make()
    for m in layer.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    dynamic = [(0,)] if len(shape) > 1 else [()]
    roundtrip(layer, [shape], dynamic=dynamic)


def test_index_arrays_from_inputs():
    def make(shape, i):
        rng = np.random.default_rng(4)
        if i == 1:
            return rng.integers(0, 3, size=shape).astype(np.int64)
        return rng.standard_normal(shape).astype(np.float32)

    fn = Fn(lambda x, i: (x.gather(1, i), x[i], x.index_select(0, i[0]),
                          ember.take_along_dim(x, i, 1)))
    roundtrip(fn, [(3, 4), (3, 2)], make=make, dynamic=[(), (1,)])


def test_embedding_padding_idx():
    emb = nn.Embedding(10, 4, padding_idx=0)

    def make(shape, i):
        return np.random.default_rng(3).integers(0, 10, size=shape).astype(np.int64)

    roundtrip(emb, [(2, 5)], dynamic=[(0, 1)], make=make)


@pytest.mark.parametrize("opset", [13, 14, 15, 16, 17, 18, 19, 20, 21])
def test_every_opset(opset):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Hardswish(), nn.Flatten(),
                          nn.LayerNorm(12), nn.Mish())
    model.add_module("fn", Fn(lambda x: (x.mean(1), x.amax(1), x.norm(dim=1), x.tril())))
    proto = roundtrip(model, [(2, 2, 4, 4)], dynamic=[(0,)], opset=opset)
    assert proto.opset_import[0].version == opset
    assert proto.ir_version == onnx.helper.find_min_ir_version_for(
        [onnx.helper.make_opsetid("", opset)])


# --- the export call ------------------------------------------------------------------------------


def test_default_opset_names_and_initializers():
    ember.manual_seed(0)
    model = LeNet()
    proto, _ = _export(model, ember.randn(1, 1, 32, 32))
    assert proto.opset_import[0].version == 17
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]
    state = model.state_dict()
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for name, value in state.items():
        assert name in inits, name
        np.testing.assert_array_equal(inits[name], value.numpy())
    assert proto.producer_name == "ember"


def test_path_and_file_object(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "m.onnx"
    assert ember.onnx.export(model, ember.randn(1, 3), str(path)) is None
    onnx.checker.check_model(onnx.load(str(path)))
    ember.onnx.export(model, ember.randn(1, 3), path)  # a PathLike
    assert os.listdir(tmp_path) == ["m.onnx"]  # written atomically: no temporary file left
    with open(tmp_path / "f.onnx", "wb") as f:
        ember.onnx.export(model, (ember.randn(1, 3),), f)
    assert os.path.getsize(tmp_path / "f.onnx") == os.path.getsize(path)
    proto = ember.onnx.export(model, ember.randn(1, 3), None)
    assert isinstance(proto, onnx.ModelProto)


def test_mode_restored_and_eval_during_export():
    seen = []

    class M(nn.Module):
        def forward(self, x):
            seen.append((self.training, ember.onnx.is_in_onnx_export()))
            return x * 2

    m = M()
    m.train()
    _export(m, ember.randn(2))
    assert seen == [(False, True)] and m.training
    assert not ember.onnx.is_in_onnx_export()
    seen.clear()
    _export(m, ember.randn(2), training=TrainingMode.PRESERVE)
    assert seen == [(True, True)]


def test_dropout_in_training_mode_is_refused():
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).train()
    with pytest.raises(UnsupportedOperatorError, match="Dropout"):
        _export(m, ember.randn(2, 3), training=TrainingMode.PRESERVE)
    with pytest.raises(NotImplementedError):
        _export(m, ember.randn(2, 3), training=TrainingMode.TRAINING)


def test_export_params_false_and_initializers_as_inputs():
    model = nn.Linear(3, 2)
    proto, _ = _export(model, ember.randn(1, 3), export_params=False)
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["input", "weight", "bias"]
    proto, data = _export(model, ember.randn(1, 3), keep_initializers_as_inputs=True)
    assert {"weight", "bias"} <= {i.name for i in proto.graph.input}
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], _run_ember(model, [x])[0],
                               atol=1e-6)


def test_constant_folding_of_parameter_math():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(ember.randn(3, 4))

        def forward(self, x):
            return x @ (self.w.t() * 2).exp()

    m = M()
    folded, _ = _export(m, ember.randn(2, 4))
    assert [n.op_type for n in folded.graph.node] == ["MatMul"]
    kept, _ = _export(m, ember.randn(2, 4), do_constant_folding=False)
    assert {"Transpose", "Mul", "Exp", "MatMul"} <= {n.op_type for n in kept.graph.node}
    roundtrip(m, [(2, 4)], do_constant_folding=False)


def test_outputs_names_dynamic_axes_as_lists_and_kwargs():
    class M(nn.Module):
        def forward(self, x, y=None, scale=1.0):
            return x * scale + y, x.sum(1)

    proto, data = _export(M(), (ember.randn(2, 3), {"y": ember.randn(2, 3), "scale": 3.0}),
                          input_names=["a"], output_names=["s"],
                          dynamic_axes={"a": [0], "input.2": [0], "s": {0: "n"}})
    assert [i.name for i in proto.graph.input] == ["a", "input.2"]
    assert [o.name for o in proto.graph.output] == ["s", "output.2"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "a_dynamic_axes_1"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    a, b = np.ones((5, 3), np.float32), np.full((5, 3), 2, np.float32)
    s, t = sess.run(None, {"a": a, "input.2": b})
    np.testing.assert_allclose(s, a * 3 + b)
    np.testing.assert_allclose(t, a.sum(1))


def test_output_that_is_an_input_or_repeated():
    proto, data = _export(Fn(lambda x: (x, x * 2, x * 2)), ember.randn(2))
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.arange(2, dtype=np.float32)
    out = sess.run(None, {"input": x})
    np.testing.assert_array_equal(out[0], x)
    np.testing.assert_array_equal(out[2], x * 2)


def test_opset_out_of_range():
    for opset in (12, 22):
        with pytest.raises(ValueError, match="opset"):
            _export(nn.Linear(2, 2), ember.randn(1, 2), opset_version=opset)


def test_torch_keywords_accepted():
    model = nn.Linear(2, 2)
    _export(model, ember.randn(1, 2), dynamo=False, autograd_inlining=True, custom_opsets={},
            operator_export_type=OperatorExportTypes.ONNX, optimize=True, external_data=True)
    with pytest.warns(OnnxExporterWarning, match="report"):
        _export(model, ember.randn(1, 2), report=True)
    with pytest.warns(OnnxExporterWarning, match="export_modules_as_functions"):
        _export(model, ember.randn(1, 2), export_modules_as_functions=True)
    with pytest.warns(OnnxExporterWarning, match="operator_export_type"):
        _export(model, ember.randn(1, 2),
                operator_export_type=OperatorExportTypes.ONNX_ATEN_FALLBACK)
    with pytest.warns(OnnxExporterWarning, match="not a valid input/output name"):
        _export(model, ember.randn(1, 2), dynamic_axes={"nope": [0]})
    with pytest.raises(TypeError):
        _export(model, ember.randn(1, 2), not_an_argument=1)
    with pytest.raises(ValueError, match="number of input names"):
        _export(model, ember.randn(1, 2), input_names=["a", "b"])


def test_unsupported_op_names_primitive_and_module():
    class Inner(nn.Module):
        def forward(self, x):
            return ember.linalg.det(x)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Inner()

        def forward(self, x):
            return self.block(x) + 1

    with pytest.raises(UnsupportedOperatorError, match=r"LinalgDet.*Outer/Inner\[block\]"):
        _export(Outer(), ember.randn(3, 3))


def test_random_sampling_in_forward_is_refused():
    with pytest.raises(UnsupportedOperatorError, match="Sample"):
        _export(Fn(lambda x: ember.bernoulli(x.sigmoid())), ember.randn(3))


def test_size_dependent_constant_in_forward():
    # zeros(x.size(0), 3) is built from a Python int: exported as an Expand of the batch size
    roundtrip(Fn(lambda x: ember.zeros(x.size(0), 3) + x[:, :1]), [(2, 4)], dynamic=[(0,)])
    roundtrip(Fn(lambda x: x + ember.arange(x.size(1)).float()), [(2, 4)], dynamic=[(1,)])
    with pytest.raises(SymbolicValueError, match="changes size"):
        _export(Fn(lambda x: x + ember.randn(x.size(0), 1).exp().clamp(0, 1)),
                (ember.randn(2, 4),), dynamic_axes={"input": [0]})


def test_control_flow_on_sizes_warns():
    def fn(x):
        return x * 2 if x.shape[0] < 3 else (x + 1).relu()

    with pytest.warns(OnnxExporterWarning, match="different operations"):
        _export(Fn(fn), (ember.randn(2, 3),), dynamic_axes={"input": [0]})


def test_inplace_on_an_input_view_is_refused():
    def fn(x):
        y = x * 1
        y[:, 0].mul_(2)
        return y + 1

    with pytest.raises(Exception, match="in place"):
        _export(Fn(fn), ember.randn(2, 3))


def test_verbose_prints_graph(capsys):
    _export(nn.Linear(2, 2), ember.randn(1, 2), verbose=True)
    assert "Gemm" in capsys.readouterr().out


def test_namespace():
    assert ember.onnx.errors.OnnxExporterError is ember.onnx.OnnxExporterError
    assert issubclass(UnsupportedOperatorError, RuntimeError)
    assert {m.name for m in TrainingMode} == {"EVAL", "PRESERVE", "TRAINING"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callable(ember.onnx.export)
