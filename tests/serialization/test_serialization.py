"""ember.save / ember.load round trips: every supported type, views, modules, optimizers, file
kinds, map_location, mmap, the legacy format, and the errors users see."""

import collections
import io
import os
import pathlib
import pickle
import struct
import sys
import types
import zipfile

import numpy as np
import pytest
import ser_craft as C
import torch

import ember
from ember import nn
from ember.serialization import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    get_unsafe_globals_in_checkpoint,
    load,
    safe_globals,
    save,
)

DTYPES = [d for d in ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int32",
                      "int64", "uint8", "bool", "complex64", "complex128")
          if getattr(ember, d) is not None]


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf, **load_kwargs)


def sample(dtype: str, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return ember.from_numpy(np.asarray(rng.random(shape) > 0.5))
    if dtype == "bfloat16":
        return ember.from_numpy(rng.standard_normal(shape).astype(np.float32)).to(ember.bfloat16)
    if dtype.startswith("complex"):
        a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return ember.from_numpy(np.asarray(a.astype(dtype)))
    if dtype.startswith(("int", "uint")):
        return ember.from_numpy(rng.integers(0, 100, shape).astype(dtype))
    return ember.from_numpy(rng.standard_normal(shape).astype(dtype))


def same(a, b):
    assert type(a) is type(b) and a.dtype is b.dtype and a.shape == b.shape
    assert a.device == b.device and a.requires_grad == b.requires_grad
    np.testing.assert_array_equal(a.detach().to(ember.float32 if a.dtype is ember.bfloat16
                                                 else a.dtype).numpy(),
                                  b.detach().to(ember.float32 if b.dtype is ember.bfloat16
                                                else b.dtype).numpy())


# --- values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 3), (2, 1, 3)])
def test_tensor_roundtrip_every_dtype(dtype, shape):
    x = sample(dtype, shape)
    same(roundtrip(x), x)


def test_non_contiguous_and_negative_stride_tensors():
    x = sample("float32", (4, 5))
    same(roundtrip(x.t()), x.t())
    same(roundtrip(x[:, 1::2]), x[:, 1::2])
    # A NumPy result with a negative stride (ember's ops may hand one back): saved as a copy.
    flipped = ember.Tensor._make(np.arange(6.0)[::-1])
    same(roundtrip(flipped), flipped)
    expanded = ember.ones(1, 3).expand(4, 3)
    y = roundtrip(expanded)
    same(y, expanded)
    assert y.stride() == (0, 1)


def test_views_share_memory_after_load():
    base = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    obj = {"base": base, "row": base[1], "corner": base[1:, 2:], "t": base.t()}
    buf = io.BytesIO()
    save(obj, buf)
    assert len([n for n in zipfile.ZipFile(buf).namelist() if "/data/" in n]) == 1  # one storage
    buf.seek(0)
    out = load(buf)
    assert out["corner"].storage_offset() == 6 and out["corner"].stride() == (4, 1)
    out["base"][1, 2] = 100.0
    assert out["row"][2].item() == 100.0 and out["corner"][0, 0].item() == 100.0
    assert out["t"][2, 1].item() == 100.0


def test_same_tensor_twice_is_one_object():
    x = ember.ones(3)
    out = roundtrip([x, x, {"again": x}])
    assert out[0] is out[1] is out[2]["again"]


def test_views_of_one_base_with_two_dtypes_are_refused():
    base = np.zeros(4, np.float32)
    a = ember.from_numpy(base)
    b = ember.Tensor._make(base.view(np.int32))
    with pytest.raises(RuntimeError, match="view the same data as different types"):
        save([a, b], io.BytesIO())


def test_parameters_and_requires_grad():
    p = nn.Parameter(sample("float32"))
    q = nn.Parameter(sample("float64"), requires_grad=False)
    leaf = sample("float32").requires_grad_()
    out = roundtrip({"p": p, "q": q, "leaf": leaf, "nonleaf": leaf * 2})
    assert type(out["p"]) is nn.Parameter and out["p"].requires_grad
    assert type(out["q"]) is nn.Parameter and not out["q"].requires_grad
    same(out["p"], p)
    same(out["leaf"], leaf)
    assert out["nonleaf"].requires_grad and out["nonleaf"].is_leaf  # as torch: a fresh leaf
    np.testing.assert_array_equal(out["nonleaf"].detach().numpy(), (leaf * 2).detach().numpy())


def test_tensor_and_parameter_attributes():
    t = ember.ones(2)
    t.note = "hello"
    p = nn.Parameter(ember.ones(2))
    p.tag = 3
    out = roundtrip([t, p])
    assert out[0].note == "hello" and out[1].tag == 3 and type(out[1]) is nn.Parameter
    buf = io.BytesIO()
    save([t, p], buf)
    buf.seek(0)
    ref = torch.load(buf, weights_only=True)  # torch reads them back with their attributes
    assert ref[0].note == "hello" and ref[1].tag == 3


def test_containers_numbers_strings_dtypes_devices_sizes():
    obj = {
        "od": collections.OrderedDict([("b", 1), ("a", 2)]),
        "list": [1, 2.5, -3, 2**70, True, None, "text", "ünï"],
        "tuple": (1, (2, (3,))),
        "set": {1, 2, 3}, "frozenset": frozenset({4}),
        "complex": 1 - 2j, "bytes": b"\x00\xff", "bytearray": bytearray(b"ab"),
        "size": ember.Size([2, 3]), "empty_size": ember.Size([]),
        "dtypes": [getattr(ember, d) for d in DTYPES],
        "devices": [ember.device("cpu"), ember.device("cuda", 1), ember.device("cuda")],
        1: "int key", (1, 2): "tuple key",
        "nested": {"deep": [{"x": ember.ones(1)}]},
    }
    out = roundtrip(obj)
    assert list(out["od"]) == ["b", "a"] and type(out["od"]) is collections.OrderedDict
    for key in ("list", "tuple", "set", "frozenset", "complex", "bytes", "bytearray", 1, (1, 2)):
        assert out[key] == obj[key] and type(out[key]) is type(obj[key])
    assert type(out["size"]) is ember.Size and out["size"] == ember.Size([2, 3])
    assert out["empty_size"] == ember.Size([])
    assert all(a is b for a, b in zip(out["dtypes"], obj["dtypes"]))
    assert out["devices"] == obj["devices"]
    same(out["nested"]["deep"][0]["x"], ember.ones(1))


def test_ordered_dict_metadata_survives():
    sd = nn.Linear(3, 2).state_dict()
    out = roundtrip(sd)
    assert type(out) is collections.OrderedDict and out._metadata == sd._metadata


def test_pickle_protocols_and_legacy_format():
    x = {"a": sample("float32"), "b": [sample("int64")], "s": ember.Size([1])}
    for protocol in (2, 3, 4, 5):
        buf = io.BytesIO()
        save(x, buf, pickle_protocol=protocol)
        buf.seek(0)
        out = load(buf)
        same(out["a"], x["a"])
        same(out["b"][0], x["b"][0])
    buf = io.BytesIO()
    save(x, buf, _use_new_zipfile_serialization=False)
    assert buf.getvalue()[:4] != b"PK\x03\x04"
    buf.seek(0)
    same(load(buf)["a"], x["a"])
    buf.seek(0)
    ref = torch.load(buf, weights_only=True)  # torch reads ember's legacy files too
    np.testing.assert_array_equal(ref["a"].numpy(), x["a"].numpy())


# --- files ---------------------------------------------------------------------------------------

def test_paths_pathlike_and_file_objects(tmp_path):
    x = {"w": sample("float32")}
    save(x, str(tmp_path / "a.pt"))
    same(load(str(tmp_path / "a.pt"))["w"], x["w"])
    save(x, tmp_path / "b.pt")
    same(load(pathlib.Path(tmp_path / "b.pt"))["w"], x["w"])
    with open(tmp_path / "c.pt", "wb") as fh:
        save(x, fh)
    with open(tmp_path / "c.pt", "rb") as fh:
        same(load(fh)["w"], x["w"])


def test_archive_layout_matches_torch(tmp_path):
    path = tmp_path / "model.v2.pt"
    save({"a": ember.ones(3), "b": ember.zeros(2, dtype=ember.int64)}, path)
    zf = zipfile.ZipFile(path)
    names = zf.namelist()
    assert names == ["model.v2/data.pkl", "model.v2/.format_version", "model.v2/.storage_alignment",
                     "model.v2/byteorder", "model.v2/data/0", "model.v2/data/1",
                     "model.v2/version", "model.v2/.data/serialization_id"]
    assert zf.read("model.v2/version") == b"3\n" and zf.read("model.v2/byteorder") == b"little"
    assert len(zf.read("model.v2/.data/serialization_id")) == 40
    raw = path.read_bytes()
    for info in zf.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        n, m = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
        assert (info.header_offset + 30 + n + m) % 64 == 0, info.filename
    import pickletools
    globals_ = {arg for op, arg, _ in pickletools.genops(zf.read("model.v2/data.pkl"))
                if op.name == "GLOBAL"}
    assert globals_ == {"collections OrderedDict", "torch._utils _rebuild_tensor_v2",
                        "torch FloatStorage", "torch LongStorage"}
    buf = io.BytesIO()
    save(ember.ones(1), buf)
    assert zipfile.ZipFile(buf).namelist()[0] == "archive/data.pkl"


def test_save_argument_errors(tmp_path):
    with pytest.raises(RuntimeError, match="Parent directory .*nope does not exist"):
        save(1, tmp_path / "nope" / "x.pt")
    with pytest.raises(AttributeError, match="expected 'f' to be string, path, or a file-like"):
        save(1, 3)
    with pytest.raises(NotImplementedError, match="pickle_module"):
        save(1, io.BytesIO(), pickle_module=types.SimpleNamespace())


def test_corrupt_and_truncated_files_name_the_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    save({"w": ember.ones(1000)}, path)
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match=r"failed finding central directory.*trunc\.pt"):
        load(tmp_path / "trunc.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(EOFError, match="empty.pt"):
        load(tmp_path / "empty.pt")
    (tmp_path / "rand.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(pickle.UnpicklingError, match="rand.pt"):
        load(tmp_path / "rand.pt")
    flipped = bytearray(data)
    offset = zipfile.ZipFile(path).getinfo("ckpt/data/0").header_offset
    n, m = struct.unpack("<HH", data[offset + 26:offset + 30])
    flipped[offset + 30 + n + m + 5] ^= 0xFF  # one bit flipped inside the tensor's bytes
    (tmp_path / "flip.pt").write_bytes(bytes(flipped))
    with pytest.raises(RuntimeError, match=r"CRC-32 mismatch.*flip\.pt"):
        load(tmp_path / "flip.pt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


def test_non_seekable_file_is_refused():
    class Stream(io.RawIOBase):
        def readable(self):
            return True

        def seekable(self):
            return False

        def seek(self, *args):
            raise io.UnsupportedOperation("seek")

        def tell(self):
            raise io.UnsupportedOperation("tell")

    with pytest.raises(io.UnsupportedOperation, match="seekable"):
        load(Stream())


# --- map_location, mmap --------------------------------------------------------------------------

def cuda_tagged_checkpoint() -> bytes:
    data = np.arange(4, dtype=np.float32).tobytes()
    pkl = C.pickle_of(C.rebuild(C.pid("0", 4, location="cuda:0"), 0, (4,), (1,)))
    return C.zip_checkpoint(pkl, {"0": data})


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the CPU-only error")
def test_cuda_checkpoint_on_cpu_only_machine():
    data = cuda_tagged_checkpoint()
    with pytest.raises(RuntimeError, match=r"Attempting to deserialize object on a CUDA device but "
                       r"torch\.cuda\.is_available\(\) is False.*map_location=torch\.device"):
        load(io.BytesIO(data))
    expected = np.arange(4, dtype=np.float32)
    for loc in ("cpu", ember.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        out = load(io.BytesIO(data), map_location=loc)
        assert out.device == ember.device("cpu")
        np.testing.assert_array_equal(out.numpy(), expected)


def test_map_location_callable_sees_storage_and_location():
    seen = []

    def where(storage, location):
        seen.append((location, storage.nbytes(), storage.device))
        return None  # the default placement

    buf = io.BytesIO()
    save({"a": ember.ones(3), "b": ember.ones(2, dtype=ember.int64)}, buf)
    buf.seek(0)
    out = load(buf, map_location=where)
    assert seen == [("cpu", 12, ember.device("cpu")), ("cpu", 16, ember.device("cpu"))]
    assert out["a"].device == ember.device("cpu")
    buf.seek(0)
    with pytest.raises(TypeError, match="map_location must return a storage or None"):
        load(buf, map_location=lambda storage, loc: "cpu")
    buf.seek(0)
    with pytest.raises(TypeError, match="map_location must be"):
        load(buf, map_location=3)
    buf.seek(0)
    with pytest.raises(RuntimeError, match="don't know how to restore data location"):
        load(buf, map_location="mps")


def test_mmap_tensors_view_the_file(tmp_path):
    path = tmp_path / "m.pt"
    x = sample("float32", (16, 16))
    save({"x": x, "y": x[2:]}, path)
    before = path.read_bytes()
    out = load(path, mmap=True)
    same(out["x"], x)
    root = out["x"]._data
    while isinstance(root.base, np.ndarray):
        root = root.base
    assert not isinstance(root.base, (bytes, bytearray)) and root.base is not None  # the mapping
    out["x"][0, 0] = 1234.0  # copy-on-write: the file is unchanged
    assert out["y"].storage_offset() == 32
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        load(io.BytesIO(before), mmap=True)
    save(x, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="mmap can only be used with files saved with"):
        load(tmp_path / "legacy.pt", mmap=True)


# --- modules and optimizers -----------------------------------------------------------------------

class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def train(model, opt, steps=2, seed=0):
    x = ember.from_numpy(np.random.default_rng(seed).standard_normal((4, 1, 6, 6)).astype("f4"))
    for _ in range(steps):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        opt.step()
    return x


def test_state_dict_and_optimizer_checkpoint_resume_exactly(tmp_path):
    ember.manual_seed(0)
    model = SmallNet()
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    x = train(model, opt)
    path = tmp_path / "ckpt.tar"
    save({"step": 2, "model": model.state_dict(), "opt": opt.state_dict(), "loss": 0.5}, path)
    ckpt = load(path)
    assert ckpt["step"] == 2 and ckpt["loss"] == 0.5
    assert ckpt["opt"]["state"][0]["step"].shape == ()  # 0-dim step tensors, as torch
    resumed = SmallNet()
    resumed.load_state_dict(ckpt["model"])
    resumed_opt = ember.optim.Adam(resumed.parameters(), lr=0.01)
    resumed_opt.load_state_dict(ckpt["opt"])
    for m, o in ((model, opt), (resumed, resumed_opt)):
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step()
    for (name, p), (_, q) in zip(model.named_parameters(), resumed.named_parameters()):
        assert ember.equal(p, q), name


def test_saved_state_is_a_snapshot(tmp_path):
    model = nn.Linear(3, 2)
    save(model.state_dict(), tmp_path / "p.pt")
    before = model.bias.detach().clone()
    with ember.no_grad():
        model.bias.add_(1.0)
    assert ember.equal(load(tmp_path / "p.pt")["bias"], before)


def test_whole_model_needs_weights_only_false(tmp_path):
    model = SmallNet()
    model.eval()
    save(model, tmp_path / "model.pt")
    with pytest.raises(pickle.UnpicklingError) as info:
        load(tmp_path / "model.pt")
    message = str(info.value)
    assert "SmallNet" in message and "weights_only" in message
    assert "ember.serialization.add_safe_globals" in message
    loaded = load(tmp_path / "model.pt", weights_only=False)
    assert type(loaded) is SmallNet and not loaded.training and loaded is not model
    x = ember.ones(2, 1, 5, 5)
    with ember.no_grad():
        assert ember.equal(loaded(x), model(x))


def test_missing_class_gives_pickles_error(tmp_path):
    module = types.ModuleType("ember_test_vanishing")
    sys.modules[module.__name__] = module

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

    Net.__module__ = module.__name__
    Net.__qualname__ = "Net"
    module.Net = Net
    try:
        save(Net(), tmp_path / "net.pt")
        del module.Net
        with pytest.raises(AttributeError, match="Can't get attribute 'Net' on <module "
                                                 "'ember_test_vanishing'"):
            load(tmp_path / "net.pt", weights_only=False)
        del sys.modules[module.__name__]
        with pytest.raises(ModuleNotFoundError, match="ember_test_vanishing"):
            load(tmp_path / "net.pt", weights_only=False)
    finally:
        sys.modules.pop(module.__name__, None)


def test_safe_globals_allow_a_user_class(tmp_path):
    save(nn.Linear(2, 3), tmp_path / "lin.pt")
    clear_safe_globals()
    try:
        add_safe_globals([nn.Linear])
        assert nn.Linear in get_safe_globals()
        lin = load(tmp_path / "lin.pt")
        assert type(lin) is nn.Linear and lin.weight.shape == (3, 2)
        clear_safe_globals()
        assert get_safe_globals() == []
        with pytest.raises(pickle.UnpicklingError, match="Linear"):
            load(tmp_path / "lin.pt")
        with safe_globals([(nn.Linear, "ember.nn.modules.linear.Linear")]):
            assert type(load(tmp_path / "lin.pt")) is nn.Linear
        assert get_safe_globals() == []
    finally:
        clear_safe_globals()


def test_get_unsafe_globals_in_checkpoint(tmp_path):
    save(nn.Linear(2, 3), tmp_path / "lin.pt")
    assert get_unsafe_globals_in_checkpoint(tmp_path / "lin.pt") == [
        "ember.nn.modules.linear.Linear"]
    save({"a": ember.ones(1), "s": {1}}, tmp_path / "plain.pt")
    assert get_unsafe_globals_in_checkpoint(tmp_path / "plain.pt") == []


def test_load_argument_rules(tmp_path):
    save(ember.ones(1), tmp_path / "x.pt")
    with pytest.raises(RuntimeError, match="Can not safely load weights when explicit "
                                           "pickle_module is specified"):
        load(tmp_path / "x.pt", pickle_module=pickle, weights_only=True)
    with pytest.warns(UserWarning, match="pickle_load_args only works if `weights_only=False`"):
        load(tmp_path / "x.pt", encoding="utf-8")
    assert ember.equal(load(tmp_path / "x.pt", weights_only=False, pickle_module=pickle),
                       ember.ones(1))
    assert ember.equal(load(tmp_path / "x.pt", pickle_module=pickle), ember.ones(1))


def test_big_endian_checkpoints_are_swapped():
    values = np.arange(5, dtype=np.float32)
    pkl = C.pickle_of(C.rebuild(C.pid("0", 5), 0, (5,), (1,)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "big")
        zf.writestr("archive/data/0", values.astype(">f4").tobytes())
    buf.seek(0)
    np.testing.assert_array_equal(load(buf).numpy(), values)
    main = C.pickle_of(C.rebuild(C.pid("0", 5, legacy=True), 0, (5,), (1,)))
    legacy = C.legacy_checkpoint(main, {"0": (5, values.astype(">f4").tobytes())},
                                 little_endian=False)
    np.testing.assert_array_equal(load(io.BytesIO(legacy)).numpy(), values)


def test_crafted_checkpoint_helpers_match_torch():
    """The adversarial tests' hand-written files are the real format: torch reads them too."""
    values = np.arange(6, dtype=np.float32)
    pkl = C.pickle_of(C.rebuild(C.pid("0", 6), 1, (2, 2), (2, 1)))
    data = C.zip_checkpoint(pkl, {"0": values.tobytes()})
    expected = values[1:5].reshape(2, 2)
    np.testing.assert_array_equal(torch.load(io.BytesIO(data), weights_only=True).numpy(),
                                  expected)
    np.testing.assert_array_equal(load(io.BytesIO(data)).numpy(), expected)
    main = C.pickle_of(C.rebuild(C.pid("0", 6, legacy=True), 1, (2, 2), (2, 1)))
    legacy = C.legacy_checkpoint(main, {"0": (6, values.tobytes())})
    np.testing.assert_array_equal(torch.load(io.BytesIO(legacy), weights_only=True).numpy(),
                                  expected)
    np.testing.assert_array_equal(load(io.BytesIO(legacy)).numpy(), expected)


def test_save_is_not_affected_by_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save(ember.ones(2), "rel.pt")
    assert os.path.exists(tmp_path / "rel.pt")
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    same(load("rel.pt"), ember.ones(2))
