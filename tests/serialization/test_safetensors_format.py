"""ember.utils.safetensors: round trips and interop with the safetensors package's torch API."""

import numpy as np
import pytest
import torch

import ember
from ember.serialization import load as ember_load
from ember.utils import safetensors as st

sttorch = pytest.importorskip(
    "safetensors.torch",
    reason="the safetensors package is not installed (pip install safetensors)")

DTYPES = [d for d in ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int32",
                      "int64", "uint8", "bool", "complex64") if getattr(ember, d) is not None]


def tensors():
    rng = np.random.default_rng(0)
    out = {}
    for d in DTYPES:
        if d == "bool":
            a = rng.random((2, 3)) > 0.5
        elif d == "complex64":
            a = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(d)
        elif d == "bfloat16":
            out[d] = ember.from_numpy(rng.standard_normal((2, 3)).astype("f4")).to(ember.bfloat16)
            continue
        else:
            a = (rng.standard_normal((2, 3)) * 10).astype(d)
        out[d] = ember.from_numpy(np.asarray(a))
    out["scalar"] = ember.tensor(3.5)
    out["empty"] = ember.zeros(0, 4)
    return out


def assert_same(a, b):
    assert a.dtype is b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.float().numpy() if a.dtype is ember.bfloat16 else a.numpy(),
                                  b.float().numpy() if b.dtype is ember.bfloat16 else b.numpy())


def test_file_roundtrip_every_dtype(tmp_path):
    data = tensors()
    st.save_file(data, tmp_path / "m.safetensors", metadata={"format": "pt"})
    out = st.load_file(tmp_path / "m.safetensors")
    assert set(out) == set(data)
    for k in data:
        assert_same(out[k], data[k])
    out["float32"][0, 0] = 1.0  # loaded tensors are ordinary, writable tensors
    same_via_load = ember_load(tmp_path / "m.safetensors")  # torch.load dispatches on the suffix
    assert_same(same_via_load["int64"], data["int64"])


def test_bytes_roundtrip():
    data = tensors()
    out = st.load(st.save(data))
    for k in data:
        assert_same(out[k], data[k])


def test_torch_reads_ember_files_and_back(tmp_path):
    data = tensors()
    st.save_file(data, tmp_path / "e.safetensors")
    ref = sttorch.load_file(tmp_path / "e.safetensors")
    for k, v in data.items():
        t = ref[k]
        assert str(t.dtype).split(".")[1] == v.dtype.name and tuple(t.shape) == tuple(v.shape)
        np.testing.assert_array_equal(t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy(),
                                      v.float().numpy() if v.dtype is ember.bfloat16
                                      else v.numpy())
    sttorch.save_file({"w": torch.arange(6.0).reshape(2, 3),
                                 "h": torch.ones(2, dtype=torch.bfloat16)},
                                tmp_path / "t.safetensors")
    out = st.load_file(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(out["w"].numpy(), np.arange(6.0, dtype=np.float32).reshape(2, 3))
    assert out["h"].dtype is ember.bfloat16


def test_errors_match_safetensors_torch():
    x = ember.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="non contiguous tensor: `t`"):
        st.save({"t": x.t()})
    with pytest.raises(RuntimeError, match="Some tensors share memory"):
        st.save({"a": x, "b": x[1]})
    with pytest.raises(ValueError, match="complex128"):
        st.save({"c": ember.zeros(2, dtype=ember.complex128)})
    with pytest.raises(ValueError, match="expected Tensor"):
        st.save({"n": np.zeros(2)})
    with pytest.raises(RuntimeError, match="dict map_location is not supported"):
        ember_load("x.safetensors", map_location={"cpu": "cpu"})


def test_unsupported_dtype_in_file_is_named(tmp_path):
    sttorch.save_file({"u": torch.ones(2, dtype=torch.uint16)},
                                tmp_path / "u.safetensors")
    with pytest.raises(TypeError, match="U16"):
        st.load_file(tmp_path / "u.safetensors")
    with pytest.raises(OSError):
        st.load_file(tmp_path / "missing.safetensors")
