"""The embedding projector's files: tensors.tsv, metadata.tsv, sprite.png and
projector_config.pbtxt (the layout TensorBoard's Projector tab reads, as torch writes it)."""

from __future__ import annotations

import io
import math
import os

import numpy as np

from ember.utils.tensorboard.summary import make_grid, make_np

__all__ = ["make_tsv", "make_sprite", "make_mat", "get_embedding_info", "write_pbtxt"]


def make_tsv(metadata, save_path, metadata_header=None) -> None:
    """metadata.tsv: one label per line, or a header line and tab-separated columns."""
    if not metadata_header:
        lines = [str(x) for x in metadata]
    else:
        if len(metadata_header) != len(metadata[0]):
            raise AssertionError("len of header must be equal to the number of columns in "
                                 "metadata")
        lines = ["\t".join(str(e) for e in row) for row in [metadata_header] + list(metadata)]
    with open(os.path.join(save_path, "metadata.tsv"), "wb") as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def make_sprite(label_img, save_path) -> None:
    """sprite.png: the label images tiled in a square grid (what the projector expects)."""
    from PIL import Image

    images = make_np(label_img)
    nrow = math.ceil(images.shape[0] ** 0.5)
    grid = make_grid(images, ncols=nrow)
    square = np.zeros((grid.shape[2], grid.shape[2], 3))
    hwc = grid.transpose(1, 2, 0)
    square[:hwc.shape[0], :, :] = hwc
    img = Image.fromarray(np.uint8((square * 255).clip(0, 255)))
    with io.BytesIO() as buf:
        img.save(buf, format="PNG")
        data = buf.getvalue()
    with open(os.path.join(save_path, "sprite.png"), "wb") as f:
        f.write(data)


def make_mat(matlist, save_path) -> None:
    """tensors.tsv: one row of tab-separated values per data point."""
    with open(os.path.join(save_path, "tensors.tsv"), "wb") as f:
        for row in matlist:
            f.write(("\t".join(str(v.item()) for v in row) + "\n").encode("utf-8"))


def get_embedding_info(metadata, label_img, subdir, global_step, tag):
    """The ``EmbeddingInfo`` entry of one embedding in the projector config."""
    from tensorboard.plugins.projector.projector_config_pb2 import EmbeddingInfo

    info = EmbeddingInfo()
    info.tensor_name = f"{tag}:{str(global_step).zfill(5)}"
    info.tensor_path = f"{subdir}/tensors.tsv"
    if metadata is not None:
        info.metadata_path = f"{subdir}/metadata.tsv"
    if label_img is not None:
        info.sprite.image_path = f"{subdir}/sprite.png"
        info.sprite.single_image_dim.extend([label_img.shape[3], label_img.shape[2]])
    return info


def write_pbtxt(save_path, config) -> None:
    """projector_config.pbtxt: the config proto in text format."""
    from google.protobuf import text_format

    with open(os.path.join(save_path, "projector_config.pbtxt"), "wb") as f:
        f.write(text_format.MessageToString(config).encode("utf-8"))
