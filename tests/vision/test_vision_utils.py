"""ember.vision.utils.make_grid / save_image against torchvision's algorithm, in NumPy."""

import math

import numpy as np
import pytest

import ember
from ember.vision.utils import make_grid, save_image

rng = np.random.RandomState(0)


def _grid(batch, nrow=8, padding=2, pad_value=0.0):
    """torchvision's tiling in NumPy: B x C x H x W -> C x H' x W'."""
    b, c, h, w = batch.shape
    if c == 1:
        batch = np.repeat(batch, 3, axis=1)
        c = 3
    xmaps = min(nrow, b)
    ymaps = int(math.ceil(b / xmaps))
    out = np.full((c, (h + padding) * ymaps + padding, (w + padding) * xmaps + padding), pad_value,
                  dtype=batch.dtype)
    for k in range(b):
        y, x = divmod(k, xmaps)
        top, left = y * (h + padding) + padding, x * (w + padding) + padding
        out[:, top:top + h, left:left + w] = batch[k]
    return out


@pytest.mark.parametrize("b,nrow,padding", [(10, 8, 2), (16, 4, 0), (3, 8, 5), (7, 3, 1)])
def test_make_grid_layout(b, nrow, padding):
    batch = rng.rand(b, 3, 5, 6).astype(np.float32)
    grid = make_grid(ember.from_numpy(batch), nrow=nrow, padding=padding, pad_value=0.25)
    np.testing.assert_array_equal(grid.numpy(), _grid(batch, nrow, padding, 0.25))


def test_make_grid_sizes_for_mnist_batch():
    # 64 digits, 8 per row, 2 px padding: 8 * 30 + 2 = 242 on each side, 3 channels
    grid = make_grid(ember.rand(64, 1, 28, 28))
    assert tuple(grid.shape) == (3, 242, 242)
    assert tuple(make_grid(ember.rand(10, 1, 28, 28)).shape) == (3, 62, 242)


def test_make_grid_single_and_list_inputs():
    one = ember.rand(1, 4, 4)
    out = make_grid(one)
    assert tuple(out.shape) == (3, 4, 4) and ember.equal(out[2], one[0])  # repeated to RGB
    assert tuple(make_grid(ember.rand(4, 4)).shape) == (3, 4, 4)
    imgs = [ember.rand(3, 2, 2) for _ in range(3)]
    np.testing.assert_array_equal(make_grid(imgs, nrow=2).numpy(),
                                  _grid(np.stack([i.numpy() for i in imgs]), 2))
    with pytest.raises(TypeError, match="tensor or list of tensors expected, got <class 'int'>"):
        make_grid(3)
    with pytest.raises(TypeError, match="tensor or list of tensors expected, got a list "
                                        "containing <class 'str'>"):
        make_grid(["x"])


def test_make_grid_normalize():
    batch = ember.from_numpy(rng.rand(4, 3, 2, 2).astype(np.float32) * 10 - 3)
    grid = make_grid(batch, normalize=True, padding=0, nrow=4)
    b = batch.numpy()
    np.testing.assert_allclose(grid.numpy(), _grid((b - b.min()) / (b.max() - b.min()), 4, 0),
                               rtol=1e-6)
    each = make_grid(batch, normalize=True, scale_each=True, padding=0, nrow=4).numpy()
    for k in range(4):
        img = b[k]
        np.testing.assert_allclose(each[:, :, 2 * k:2 * k + 2],
                                   (img - img.min()) / (img.max() - img.min()), rtol=1e-5)
    ranged = make_grid(batch, normalize=True, value_range=(0, 5), padding=0, nrow=4)
    np.testing.assert_allclose(ranged.numpy(), _grid(np.clip(b, 0, 5) / 5, 4, 0), rtol=1e-6)
    assert batch.numpy().min() < 0  # the input is not modified
    with pytest.raises(TypeError, match=r"value_range has to be a tuple \(min, max\) if "
                                        "specified."):
        make_grid(batch, normalize=True, value_range=[0, 1])


def test_make_grid_records_no_graph():
    x = ember.rand(2, 3, 2, 2, requires_grad=True)
    assert make_grid(x).requires_grad is False


def test_save_image_png(tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="save_image writes with Pillow")
    batch = ember.rand(5, 3, 4, 6)
    path = tmp_path / "grid.png"
    save_image(batch, str(path), nrow=3, padding=1)
    with Image.open(path) as im:
        saved = np.asarray(im)
    grid = _grid(batch.numpy(), 3, 1)
    expected = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    np.testing.assert_array_equal(saved, expected)
    save_image(batch[0], str(tmp_path / "one.jpg"), format="PNG")
    with Image.open(tmp_path / "one.jpg") as im:
        assert im.format == "PNG"
