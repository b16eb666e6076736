"""ember.vision.io: image files to and from uint8 tensors C x H x W."""

import numpy as np
import pytest

import ember
from ember.vision import io

PIL = pytest.importorskip("PIL", reason="ember.vision.io decodes and encodes with Pillow")
from PIL import Image  # noqa: E402

rng = np.random.RandomState(0)


def test_read_image_modes(tmp_path):
    arr = rng.randint(0, 256, size=(5, 7, 3)).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.png")
    t = io.read_image(str(tmp_path / "a.png"))
    assert t.dtype == ember.uint8 and t.numpy().tolist() == arr.transpose(2, 0, 1).tolist()
    gray = io.read_image(str(tmp_path / "a.png"), io.ImageReadMode.GRAY)
    assert tuple(gray.shape) == (1, 5, 7)
    np.testing.assert_array_equal(gray.numpy()[0], np.asarray(Image.fromarray(arr).convert("L")))
    assert tuple(io.read_image(str(tmp_path / "a.png"), io.ImageReadMode.RGB_ALPHA).shape) == \
        (4, 5, 7)
    Image.fromarray(arr[:, :, 0]).convert("P").save(tmp_path / "p.png")
    assert io.read_image(str(tmp_path / "p.png")).shape[0] == 3  # palettes are expanded


def test_decode_bytes_and_round_trip(tmp_path):
    arr = rng.randint(0, 256, size=(3, 6, 4)).astype(np.uint8)
    data = io.encode_png(ember.from_numpy(arr))
    assert data.dtype == ember.uint8 and data.ndim == 1
    np.testing.assert_array_equal(io.decode_png(data).numpy(), arr)
    io.write_png(ember.from_numpy(arr[:1]), str(tmp_path / "g.png"))
    np.testing.assert_array_equal(io.read_image(str(tmp_path / "g.png")).numpy(), arr[:1])
    assert ember.equal(io.read_file(str(tmp_path / "g.png")),
                       ember.from_numpy(np.fromfile(tmp_path / "g.png", dtype=np.uint8)))
    jpeg = io.decode_jpeg(io.encode_jpeg(ember.from_numpy(arr), quality=95))
    assert tuple(jpeg.shape) == (3, 6, 4)
    assert np.abs(jpeg.numpy().astype(int) - arr.astype(int)).mean() < 40
    io.write_file(str(tmp_path / "copy.png"), data)
    assert (tmp_path / "copy.png").read_bytes() == data.numpy().tobytes()


def test_errors():
    with pytest.raises(RuntimeError, match="Could not decode the image"):
        io.decode_image(ember.tensor([1, 2, 3], dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Expected a 1-D uint8 tensor of encoded bytes"):
        io.decode_image(ember.zeros(3))
    with pytest.raises(RuntimeError, match=r"The input must be a uint8 tensor of shape \(1, H, W\) "
                                           r"or \(3, H, W\)"):
        io.encode_png(ember.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="Compression level should be between 0 and 9"):
        io.encode_png(ember.zeros(3, 2, 2, dtype=ember.uint8), compression_level=10)
