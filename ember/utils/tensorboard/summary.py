"""``Summary`` protocol buffers built from ember tensors or NumPy arrays, as
``torch.utils.tensorboard.summary``: scalars, histograms (TensorBoard's bucket logic), images
(PNG via Pillow), text, hyperparameters, PR curves, videos (animated GIF via Pillow), audio,
custom scalar layouts and meshes. Every proto comes from the ``tensorboard`` package.
"""

from __future__ import annotations

import io
import json
import logging
import wave

import numpy as np
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

__all__ = ["make_np", "scalar", "histogram", "histogram_raw", "make_histogram", "image",
           "make_image", "convert_to_HWC", "make_grid", "video", "make_video", "audio", "text",
           "hparams", "pr_curve", "pr_curve_raw", "compute_curve", "custom_scalars",
           "tensor_proto", "mesh", "figure_to_image"]

logger = logging.getLogger(__name__)


def make_np(x) -> np.ndarray:
    """A NumPy array from an ember tensor, an array or a Python number (a number becomes [x])."""
    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    from ember import _tensor

    if isinstance(x, _tensor.Tensor):
        a = x.detach().cpu().numpy()
        if a.dtype.kind not in "biufc":  # bfloat16 and friends: as torch, through a float type
            a = a.astype(np.float32)
        return a
    raise NotImplementedError(f"Got {type(x)}, but numpy array or ember tensor are expected.")


# --- scalars and tensors --------------------------------------------------------------------------


def scalar(name, tensor, collections=None, new_style=False, double_precision=False):
    """A Summary with one scalar: ``simple_value``, or a scalars-plugin tensor (``new_style``)."""
    tensor = make_np(tensor).squeeze()
    if tensor.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: "
                             f"{tensor.size} and {tensor.ndim} dimensions.")
    value = float(tensor)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=value)])
    if double_precision:
        proto = TensorProto(double_val=[value], dtype="DT_DOUBLE")
    else:
        proto = TensorProto(float_val=[value], dtype="DT_FLOAT")
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=smd)])


_TENSOR_TYPES = {  # NumPy kind+size -> (TensorProto dtype, field)
    "f2": ("DT_HALF", "half_val"), "f4": ("DT_FLOAT", "float_val"),
    "f8": ("DT_DOUBLE", "double_val"), "i1": ("DT_INT8", "int_val"),
    "u1": ("DT_UINT8", "int_val"), "i2": ("DT_INT16", "int_val"), "i4": ("DT_INT32", "int_val"),
    "i8": ("DT_INT64", "int64_val"), "b1": ("DT_BOOL", "bool_val"),
    "c8": ("DT_COMPLEX64", "scomplex_val"), "c16": ("DT_COMPLEX128", "dcomplex_val"),
}


def tensor_proto(tag, tensor):
    """A Summary holding a whole tensor (``add_tensor``)."""
    a = make_np(tensor)
    if a.nbytes >= (1 << 31):
        raise ValueError("tensor is bigger than protocol buffer's hard limit of 2GB in size")
    entry = _TENSOR_TYPES.get(f"{a.dtype.kind}{a.dtype.itemsize}")
    if entry is None:
        raise ValueError(f"{tag} has unsupported tensor dtype {a.dtype}")
    dtype, field = entry
    flat = a.reshape(-1)
    if field == "half_val":
        values = flat.view(np.uint16).astype(np.int32).tolist()
    elif a.dtype.kind == "c":
        values = np.stack([flat.real, flat.imag], -1).reshape(-1).tolist()
    else:
        values = flat.tolist()
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=d) for d in a.shape])
    proto = TensorProto(dtype=dtype, tensor_shape=shape, **{field: values})
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=proto)])


# --- histograms -----------------------------------------------------------------------------------


def default_bins() -> list:
    """TensorBoard's default bucket edges: +-1e-12 growing by 10% up to 1e20, and 0."""
    v = 1e-12
    buckets, neg = [], []
    while v < 1e20:
        buckets.append(v)
        neg.append(-v)
        v *= 1.1
    return neg[::-1] + [0] + buckets


def histogram_raw(name, min, max, num, sum, sum_squares, bucket_limits, bucket_counts):
    """A Summary with a histogram given by its statistics and buckets."""
    hist = HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                          bucket_limit=bucket_limits, bucket=bucket_counts)
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def histogram(name, values, bins, max_bins=None):
    """A Summary with the histogram of ``values`` (``bins`` as ``numpy.histogram`` takes them)."""
    values = make_np(values)
    hist = make_histogram(values.astype(float), bins, max_bins)
    return Summary(value=[Summary.Value(tag=name, histo=hist)])


def make_histogram(values, bins, max_bins=None):
    """The HistogramProto of ``values``: empty buckets trimmed at both ends, with one empty
    bucket kept on the left so that TensorBoard sees the leftmost limit (histogram.cc's logic)."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    num_bins = len(counts)
    if max_bins is not None and num_bins > max_bins:
        subsampling = num_bins // max_bins
        remainder = num_bins % subsampling
        if remainder != 0:
            counts = np.pad(counts, pad_width=[[0, subsampling - remainder]], mode="constant",
                            constant_values=0)
        counts = counts.reshape(-1, subsampling).sum(axis=-1)
        new_limits = np.empty((counts.size + 1,), limits.dtype)
        new_limits[:-1] = limits[:-1:subsampling]
        new_limits[-1] = limits[-1]
        limits = new_limits
    cum_counts = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum_counts, [0, cum_counts[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    return HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                          sum_squares=values.dot(values), bucket_limit=limits.tolist(),
                          bucket=counts.tolist())


# --- images ---------------------------------------------------------------------------------------


def make_grid(images, ncols=8):
    """(N, 1 or 3, H, W) images tiled ``ncols`` per row into one (3, H*rows, W*cols) canvas."""
    if not isinstance(images, np.ndarray):
        raise AssertionError("plugin error, should pass numpy array here")
    if images.shape[1] == 1:
        images = np.concatenate([images, images, images], 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    n, _, h, w = images.shape
    ncols = min(n, ncols)
    nrows = int(np.ceil(float(n) / ncols))
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=images.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = images[i]
    return canvas


def convert_to_HWC(tensor, input_format):
    """An image array in ``input_format`` (NCHW, CHW, HWC, HW, ...) as HWC with 3 channels
    (gray is repeated; a batch is tiled into a grid)."""
    if len(set(input_format)) != len(input_format):
        raise AssertionError("You can not use the same dimension shorthand twice. input_format: "
                             f"{input_format}")
    if len(tensor.shape) != len(input_format):
        raise AssertionError("size of input tensor and input format are different. tensor shape: "
                             f"{tensor.shape}, input_format: {input_format}")
    input_format = input_format.upper()
    if len(input_format) == 4:
        index = [input_format.find(c) for c in "NCHW"]
        return make_grid(tensor.transpose(index)).transpose(1, 2, 0)
    if len(input_format) == 3:
        index = [input_format.find(c) for c in "HWC"]
        hwc = tensor.transpose(index)
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc, hwc, hwc], 2)
        return hwc
    if len(input_format) == 2:
        index = [input_format.find(c) for c in "HW"]
        hw = tensor.transpose(index)
        return np.stack([hw, hw, hw], 2)
    raise AssertionError(f"unsupported image format {input_format}")


def _scale_factor(a) -> int:
    return 1 if a.dtype == np.uint8 else 255


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    """A Summary with one image: floats in [0, 1] (uint8 in [0, 255]) as a PNG."""
    tensor = convert_to_HWC(make_np(tensor), dataformats)
    scale = _scale_factor(tensor)
    tensor = (tensor.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=make_image(tensor, rescale=rescale))])


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    """A Summary with one image and boxes ``(xmin, ymin, xmax, ymax)`` drawn on it."""
    tensor_image = convert_to_HWC(make_np(tensor_image), dataformats)
    boxes = make_np(tensor_boxes)
    tensor_image = tensor_image.astype(np.float32) * _scale_factor(tensor_image)
    img = make_image(tensor_image.clip(0, 255).astype(np.uint8), rescale=rescale, rois=boxes,
                     labels=labels)
    return Summary(value=[Summary.Value(tag=tag, image=img)])


def _draw_boxes(img, boxes, labels=None):
    from PIL import ImageDraw, ImageFont

    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    for i in range(boxes.shape[0]):
        left, top, right, bottom = (float(v) for v in boxes[i, :4])
        draw.line([(left, top), (left, bottom), (right, bottom), (right, top), (left, top)],
                  width=2, fill="Red")
        if labels is not None:
            draw.text((left + 2, top + 2), str(labels[i]), fill="black", font=font)
    return img


def make_image(tensor, rescale=1, rois=None, labels=None):
    """A ``Summary.Image`` (PNG) from an HWC uint8 array."""
    from PIL import Image

    height, width, channel = tensor.shape
    img = Image.fromarray(tensor)
    if rois is not None:
        img = _draw_boxes(img, rois, labels)
    if rescale != 1:
        img = img.resize((int(width * rescale), int(height * rescale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return Summary.Image(height=height, width=width, colorspace=channel,
                         encoded_image_string=out.getvalue())


def figure_to_image(figures, close=True):
    """Matplotlib figure(s) rendered to a CHW (or NCHW) uint8 array."""
    import matplotlib.backends.backend_agg as backend_agg
    import matplotlib.pyplot as plt

    def render(figure):
        canvas = backend_agg.FigureCanvasAgg(figure)
        canvas.draw()
        data = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
        w, h = figure.canvas.get_width_height()
        chw = np.moveaxis(data.reshape([h, w, 4])[:, :, 0:3], 2, 0)
        if close:
            plt.close(figure)
        return chw

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)


# --- video and audio ------------------------------------------------------------------------------


def _prepare_video(v):
    """(B, T, C, H, W) -> (T, H', W', C): the batch tiled into a grid of power-of-two rows."""
    b, t, c, h, w = v.shape
    if v.dtype == np.uint8:
        v = np.float32(v) / 255.0

    def is_power2(num):
        return num != 0 and ((num & (num - 1)) == 0)

    if not is_power2(v.shape[0]):
        extra = int(2 ** v.shape[0].bit_length() - v.shape[0])
        v = np.concatenate((v, np.zeros(shape=(extra, t, c, h, w))), axis=0)
    n_rows = 2 ** ((b.bit_length() - 1) // 2)
    n_cols = v.shape[0] // n_rows
    v = np.reshape(v, (n_rows, n_cols, t, c, h, w))
    v = np.transpose(v, axes=(2, 0, 4, 1, 5, 3))
    return np.reshape(v, (t, n_rows * h, n_cols * w, c))


def video(tag, tensor, fps=4):
    """A Summary with a video (an animated GIF) from (N, T, C, H, W) frames."""
    frames = _prepare_video(make_np(tensor))
    scale = _scale_factor(frames)
    frames = (frames.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=make_video(frames, fps))])


def make_video(tensor, fps):
    """A ``Summary.Image`` holding an animated GIF of (T, H, W, C) uint8 frames (via Pillow;
    torch uses moviepy for the same GIF)."""
    from PIL import Image

    t, h, w, c = tensor.shape
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
    frames = [Image.fromarray(f[:, :, 0] if c == 1 else f, mode=mode) for f in tensor]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:],
                   duration=int(1000 / fps), loop=0)
    return Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=out.getvalue())


def audio(tag, tensor, sample_rate=44100):
    """A Summary with a mono WAV clip (values in [-1, 1])."""
    array = make_np(tensor).squeeze()
    if abs(array).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        array = array.clip(-1, 1)
    if array.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    array = (array * np.iinfo(np.int16).max).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(array.data)
    clip = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=array.shape[-1],
                         encoded_audio_string=out.getvalue(), content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=clip)])


# --- text, hparams, pr curves, layouts, meshes ----------------------------------------------------


def text(tag, text):
    """A Summary with a string for the text plugin (tag ``<tag>/text_summary``)."""
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    plugin_data = SummaryMetadata.PluginData(plugin_name="text",
                                             content=TextPluginData(version=0).SerializeToString())
    smd = SummaryMetadata(plugin_data=plugin_data)
    proto = TensorProto(dtype="DT_STRING", string_val=[text.encode(encoding="utf_8")],
                        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=smd, tensor=proto)])


def _hparams_summary(tag, **content):
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    data = HParamsPluginData(version=PLUGIN_DATA_VERSION, **content)
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name=PLUGIN_NAME, content=data.SerializeToString()))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd)])


def hparams(hparam_dict=None, metric_dict=None, hparam_domain_discrete=None):
    """The three Summaries of the hparams plugin: experiment, session start, session end."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams.api_pb2 import (
        DataType,
        Experiment,
        HParamInfo,
        MetricInfo,
        MetricName,
        Status,
    )
    from tensorboard.plugins.hparams.metadata import (
        EXPERIMENT_TAG,
        SESSION_END_INFO_TAG,
        SESSION_START_INFO_TAG,
    )
    from tensorboard.plugins.hparams.plugin_data_pb2 import SessionEndInfo, SessionStartInfo

    from ember import _tensor

    if not isinstance(hparam_dict, dict):
        logger.warning("parameter: hparam_dict should be a dictionary, nothing logged.")
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        logger.warning("parameter: metric_dict should be a dictionary, nothing logged.")
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    discrete = hparam_domain_discrete or {}
    if not isinstance(discrete, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing "
                        "logged.")
    for k, v in discrete.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(
                isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same "
                            f"type as hparam_dict[{k}].")
    infos = []
    ssi = SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, _tensor.Tensor):
            v = float(make_np(v).reshape(-1)[0])
        # as torch: numbers first, so a bool (an int in Python) is logged as a number
        if isinstance(v, (int, float)):
            ssi.hparams[k].number_value = v
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(v, str):
            ssi.hparams[k].string_value = v
            kind, field = "DATA_TYPE_STRING", "string_value"
        elif isinstance(v, bool):
            ssi.hparams[k].bool_value = v
            kind, field = "DATA_TYPE_BOOL", "bool_value"
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        domain = None
        if k in discrete:
            domain = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d})
                                                  for d in discrete[k]])
        infos.append(HParamInfo(name=k, type=DataType.Value(kind), domain_discrete=domain))
    metrics = [MetricInfo(name=MetricName(tag=k)) for k in metric_dict]
    exp = _hparams_summary(EXPERIMENT_TAG,
                           experiment=Experiment(hparam_infos=infos, metric_infos=metrics))
    start = _hparams_summary(SESSION_START_INFO_TAG, session_start_info=ssi)
    end = _hparams_summary(SESSION_END_INFO_TAG, session_end_info=SessionEndInfo(
        status=Status.Value("STATUS_SUCCESS")))
    return exp, start, end


def _pr_summary(tag, data, num_thresholds):
    from tensorboard.plugins.pr_curve.plugin_data_pb2 import PrCurvePluginData

    content = PrCurvePluginData(version=0, num_thresholds=num_thresholds).SerializeToString()
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="pr_curves",
                                                                 content=content))
    proto = TensorProto(dtype="DT_FLOAT", float_val=data.reshape(-1).tolist(),
                        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=data.shape[0]),
                                                           TensorShapeProto.Dim(size=data.shape[1])]))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=proto)])


def pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, num_thresholds=127, weights=None):
    """A PR-curve Summary from precomputed counts."""
    num_thresholds = min(num_thresholds, 127)  # more do not fit TensorBoard's plugin
    data = np.stack([make_np(a) for a in (tp, fp, tn, fn, precision, recall)])
    return _pr_summary(tag, data, num_thresholds)


def pr_curve(tag, labels, predictions, num_thresholds=127, weights=None):
    """A PR-curve Summary from binary ``labels`` and ``predictions`` in [0, 1]."""
    num_thresholds = min(num_thresholds, 127)
    data = compute_curve(labels, predictions, num_thresholds=num_thresholds, weights=weights)
    return _pr_summary(tag, data, num_thresholds)


def compute_curve(labels, predictions, num_thresholds=None, weights=None):
    """(tp, fp, tn, fn, precision, recall) at ``num_thresholds`` thresholds."""
    minimum = 1e-7
    if weights is None:
        weights = 1.0
    bucket_indices = np.int32(np.floor(predictions * (num_thresholds - 1)))
    float_labels = labels.astype(np.float64)
    span = (0, num_thresholds - 1)
    tp_buckets, _ = np.histogram(bucket_indices, bins=num_thresholds, range=span,
                                 weights=float_labels * weights)
    fp_buckets, _ = np.histogram(bucket_indices, bins=num_thresholds, range=span,
                                 weights=(1.0 - float_labels) * weights)
    tp = np.cumsum(tp_buckets[::-1])[::-1]
    fp = np.cumsum(fp_buckets[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    precision = tp / np.maximum(minimum, tp + fp)
    recall = tp / np.maximum(minimum, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def custom_scalars(layout):
    """The custom-scalars plugin's layout Summary: ``{category: {chart: [kind, tags]}}``."""
    from tensorboard.plugins.custom_scalar import layout_pb2

    categories = []
    for category, charts_meta in layout.items():
        charts = []
        for title, (kind, tags) in charts_meta.items():
            if kind == "Margin":
                if len(tags) != 3:
                    raise AssertionError("len(tags) != 3")
                content = layout_pb2.MarginChartContent(series=[
                    layout_pb2.MarginChartContent.Series(value=tags[0], lower=tags[1],
                                                         upper=tags[2])])
                charts.append(layout_pb2.Chart(title=title, margin=content))
            else:
                charts.append(layout_pb2.Chart(
                    title=title, multiline=layout_pb2.MultilineChartContent(tag=tags)))
        categories.append(layout_pb2.Category(title=category, chart=charts))
    proto = TensorProto(dtype="DT_STRING",
                        string_val=[layout_pb2.Layout(category=categories).SerializeToString()],
                        tensor_shape=TensorShapeProto())
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="custom_scalars"))
    return Summary(value=[Summary.Value(tag="custom_scalars__config__", tensor=proto,
                                        metadata=smd)])


def mesh(tag, vertices, colors, faces, config_dict, display_name=None, description=None):
    """The mesh plugin's Summary: vertices, faces and colors as (B, N, 3) tensors."""
    from tensorboard.plugins.mesh import metadata
    from tensorboard.plugins.mesh.plugin_data_pb2 import MeshPluginData

    json_config = json.dumps(config_dict, sort_keys=True) if config_dict is not None else "{}"
    parts = [(a, kind) for a, kind in ((vertices, MeshPluginData.VERTEX),
                                       (faces, MeshPluginData.FACE),
                                       (colors, MeshPluginData.COLOR)) if a is not None]
    components = metadata.get_components_bitmask([kind for _, kind in parts])
    values = []
    for a, kind in parts:
        arr = make_np(a)
        smd = metadata.create_summary_metadata(tag, display_name, kind, components, arr.shape,
                                               description, json_config=json_config)
        proto = TensorProto(dtype="DT_FLOAT", float_val=arr.reshape(-1).tolist(),
                            tensor_shape=TensorShapeProto(
                                dim=[TensorShapeProto.Dim(size=d) for d in arr.shape]))
        values.append(Summary.Value(tag=metadata.get_instance_name(tag, kind), tensor=proto,
                                    metadata=smd))
    return Summary(value=values)
