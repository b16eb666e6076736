"""ember.utils.tensorboard.SummaryWriter: event files read back with TensorBoard's own reader
(EventAccumulator), every value checked, and compared with torch's SummaryWriter on the same data;
one test serves the logs with the real ``tensorboard`` server and reads them over HTTP."""

import glob
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import ember  # noqa: E402
import ember.nn as nn  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402

torch = pytest.importorskip("torch")
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402

_ALL = {"scalars": 0, "images": 0, "histograms": 0, "tensors": 0, "audio": 0}


def read(logdir):
    acc = EventAccumulator(str(logdir), size_guidance=_ALL)
    acc.Reload()
    return acc


def both(tmp_path, fn):
    """Run ``fn(writer)`` with ember's and torch's writers; the two accumulators."""
    with SummaryWriter(tmp_path / "ember") as w:
        fn(w, ember)
    with TorchWriter(str(tmp_path / "torch")) as w:
        fn(w, torch)
    return read(tmp_path / "ember"), read(tmp_path / "torch")


def decode(encoded):
    return np.asarray(Image.open(io.BytesIO(encoded)))


# --- scalars --------------------------------------------------------------------------------------


def test_default_log_dir_as_torch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    host = re.escape(socket.gethostname())
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + host + r"_lr0\.1",
                        w.get_logdir().replace(os.sep, "/")), w.get_logdir()
    t = TorchWriter(comment="_lr0.1")
    t.close()
    assert len(glob.glob("runs/*")) in (1, 2)  # the same name when made within one second
    assert os.path.dirname(t.get_logdir()) == os.path.dirname(w.get_logdir())
    files = glob.glob(os.path.join(w.get_logdir(), "events.out.tfevents.*"))
    assert files


def test_scalars_read_back(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for i in range(100):
            w.add_scalar("y=2x", i * 2, i)
        w.add_scalar("t", ember.tensor(1.5), 0, walltime=123.0)
        w.add_scalar("np", np.float32(0.25), 3)
        w.add_scalar("new", 0.1, 7, new_style=True)
        w.add_scalar("new64", 0.1, 8, new_style=True, double_precision=True)
    acc = read(tmp_path)
    events = acc.Scalars("y=2x")
    assert [e.step for e in events] == list(range(100))
    assert [e.value for e in events] == [float(2 * i) for i in range(100)]
    (t,) = acc.Scalars("t")
    assert (t.step, t.value, t.wall_time) == (0, 1.5, 123.0)
    assert acc.Scalars("np")[0].value == 0.25
    new = acc.Tensors("new")[0]
    assert new.step == 7 and new.tensor_proto.float_val == [pytest.approx(0.1)]
    assert acc.Tensors("new64")[0].tensor_proto.double_val == [0.1]
    with SummaryWriter(tmp_path / "bad") as w, pytest.raises(AssertionError):
        w.add_scalar("x", ember.ones(2))


def test_add_scalars_sub_runs_as_torch(tmp_path):
    def log(w, lib):
        for i in range(3):
            w.add_scalars("run/14h", {"xsinx": i * 0.5, "xcosx": -i}, i)

    both(tmp_path, log)
    ours = sorted(os.path.basename(d) for d in glob.glob(str(tmp_path / "ember" / "*"))
                  if os.path.isdir(d))
    theirs = sorted(os.path.basename(d) for d in glob.glob(str(tmp_path / "torch" / "*"))
                    if os.path.isdir(d))
    assert ours == theirs == ["run_14h_xcosx", "run_14h_xsinx"]
    for sub in ours:
        a = read(tmp_path / "ember" / sub).Scalars("run/14h")
        b = read(tmp_path / "torch" / sub).Scalars("run/14h")
        assert [(e.step, e.value) for e in a] == [(e.step, e.value) for e in b]


# --- histograms -----------------------------------------------------------------------------------


HISTOGRAM_CASES = [
    ("normal", lambda lib: lib.from_numpy(np.random.default_rng(0).standard_normal(1000)
                                          .astype(np.float32)), {}),
    ("ints", lambda lib: lib.from_numpy(np.arange(-20, 50)), {}),
    ("constant", lambda lib: lib.full((10,), 3.0), {}),
    ("auto", lambda lib: lib.from_numpy(np.random.default_rng(1).random(500)), {"bins": "auto"}),
    ("max_bins", lambda lib: lib.from_numpy(np.random.default_rng(2).random(500)),
     {"bins": 100, "max_bins": 7}),
    ("numpy", lambda lib: np.random.default_rng(3).exponential(size=300), {}),
]


@pytest.mark.parametrize("name,make,kw", HISTOGRAM_CASES, ids=[c[0] for c in HISTOGRAM_CASES])
def test_histogram_matches_torch(tmp_path, name, make, kw):
    def log(w, lib):
        w.add_histogram("h", make(lib), 5, **kw)

    ours, theirs = both(tmp_path, log)
    (a,), (b,) = ours.Histograms("h"), theirs.Histograms("h")
    assert a.step == b.step == 5
    ha, hb = a.histogram_value, b.histogram_value
    assert (ha.min, ha.max, ha.num, ha.sum, ha.sum_squares) == \
        (hb.min, hb.max, hb.num, hb.sum, hb.sum_squares)
    assert list(ha.bucket_limit) == list(hb.bucket_limit)
    assert list(ha.bucket) == list(hb.bucket)
    values = make(np) if name == "numpy" else make(torch).numpy()
    assert ha.num == values.size and sum(ha.bucket) == values.size


def test_histogram_raw(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_histogram_raw("r", 0, 3, 4, 6, 14, [1, 2, 3], [1, 1, 2], global_step=2)
        with pytest.raises(ValueError):
            w.add_histogram_raw("r", 0, 3, 4, 6, 14, [1, 2], [1, 1, 2])
    (h,) = read(tmp_path).Histograms("r")
    assert list(h.histogram_value.bucket) == [1, 1, 2] and h.histogram_value.sum_squares == 14


# --- images ---------------------------------------------------------------------------------------


def _img(lib, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    a = rng.random(shape)
    if dtype == "uint8":
        return lib.from_numpy((a * 255).astype(np.uint8))
    return lib.from_numpy(a.astype(np.float32))


IMAGE_CASES = [
    ("chw", (3, 10, 12), "float", "CHW", False),
    ("chw_gray", (1, 10, 12), "float", "CHW", False),
    ("hwc_uint8", (10, 12, 3), "uint8", "HWC", False),
    ("hw", (10, 12), "float", "HW", False),
    ("rgba", (4, 6, 5), "float", "CHW", False),
    ("nchw_batch", (13, 1, 7, 6), "float", "NCHW", True),
    ("nhwc_batch", (5, 7, 6, 3), "uint8", "NHWC", True),
]


@pytest.mark.parametrize("name,shape,dtype,fmt,batch", IMAGE_CASES,
                         ids=[c[0] for c in IMAGE_CASES])
def test_images_match_torch(tmp_path, name, shape, dtype, fmt, batch):
    def log(w, lib):
        img = _img(lib, shape, dtype)
        if batch:
            w.add_images("img", img, 1, dataformats=fmt)
        else:
            w.add_image("img", img, 1, dataformats=fmt)

    ours, theirs = both(tmp_path, log)
    (a,), (b,) = ours.Images("img"), theirs.Images("img")
    assert (a.step, a.width, a.height) == (b.step, b.width, b.height)
    pa, pb = decode(a.encoded_image_string), decode(b.encoded_image_string)
    np.testing.assert_array_equal(pa, pb)
    # and the pixels are the input's, scaled to [0, 255] as torch scales them
    if name == "chw":
        expected = (np.transpose(_img(torch, shape, dtype).numpy(), (1, 2, 0)) * 255)
        assert np.abs(pa.astype(np.float64) - expected).max() <= 1.0
    if name == "nchw_batch":
        assert (a.width, a.height) == (8 * 6, 2 * 7)  # 8 per row, as make_grid in TensorBoard


def test_image_grid_from_vision_make_grid(tmp_path):
    vision = pytest.importorskip("ember.vision.utils")
    batch = ember.rand(10, 1, 28, 28)
    grid = vision.make_grid(batch)
    with SummaryWriter(tmp_path) as w:
        w.add_image("grid", grid)
    (e,) = read(tmp_path).Images("grid")
    c, h, wd = grid.shape
    assert (e.height, e.width) == (h, wd)
    png = decode(e.encoded_image_string).astype(np.float64)
    expected = grid.permute(1, 2, 0).numpy() * 255.0
    assert np.abs(png[:, :, :3] - expected).max() <= 1.0


def test_image_with_boxes_and_figure(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_image_with_boxes("boxes", ember.zeros(3, 20, 30),
                               ember.tensor([[2.0, 3.0, 15.0, 12.0]]), 0, labels=["cat"])
    (e,) = read(tmp_path).Images("boxes")
    png = decode(e.encoded_image_string)
    assert (e.height, e.width) == (20, 30) and png[3, 2:16, 0].max() == 255  # the red box


def test_add_figure(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    with SummaryWriter(tmp_path) as w:
        w.add_figure("fig", fig, 0)
    (e,) = read(tmp_path).Images("fig")
    assert (e.width, e.height) == (100, 50)


def test_add_video_as_gif(tmp_path):
    frames = ember.rand(3, 4, 3, 8, 10)  # N, T, C, H, W
    with SummaryWriter(tmp_path) as w:
        w.add_video("v", frames, 0, fps=5)
    (e,) = read(tmp_path).Images("v")
    gif = Image.open(io.BytesIO(e.encoded_image_string))
    assert gif.format == "GIF" and gif.n_frames == 4
    assert (e.height, e.width) == (8, 4 * 10)  # 3 videos padded to 4, in one row (as torch)


def test_add_audio_matches_torch(tmp_path):
    def log(w, lib):
        w.add_audio("a", lib.from_numpy(np.sin(np.linspace(0, 20, 400))[None].astype(np.float32)),
                    0, sample_rate=8000)

    ours, theirs = both(tmp_path, log)
    (a,), (b,) = ours.Audio("a"), theirs.Audio("a")
    assert a.encoded_audio_string == b.encoded_audio_string
    assert (a.sample_rate, a.length_frames) == (8000, 400)


# --- text, hparams, pr curves, tensors, layouts ---------------------------------------------------


def test_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("lstm", "This is an **lstm**", 0)
        w.add_text("rnn", "unicode: é", 10)
    acc = read(tmp_path)
    (t,) = acc.Tensors("lstm/text_summary")
    assert t.tensor_proto.string_val == [b"This is an **lstm**"]
    assert acc.Tensors("rnn/text_summary")[0].step == 10
    assert acc.Tensors("rnn/text_summary")[0].tensor_proto.string_val[0].decode() == "unicode: é"
    meta = acc.SummaryMetadata("lstm/text_summary")
    assert meta.plugin_data.plugin_name == "text"


def test_hparams_match_torch(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2

    def log(w, lib):
        w.add_hparams({"lr": 0.1, "bsize": 16, "opt": "adam", "skip": None},
                      {"hparam/accuracy": 0.9, "hparam/loss": 0.25},
                      hparam_domain_discrete={"opt": ["adam", "sgd"]}, run_name="trial")

    both(tmp_path, log)
    ours, theirs = read(tmp_path / "ember" / "trial"), read(tmp_path / "torch" / "trial")
    for tag in ("_hparams_/experiment", "_hparams_/session_start_info",
                "_hparams_/session_end_info"):
        a = plugin_data_pb2.HParamsPluginData.FromString(
            ours.SummaryMetadata(tag).plugin_data.content)
        b = plugin_data_pb2.HParamsPluginData.FromString(
            theirs.SummaryMetadata(tag).plugin_data.content)
        if tag.endswith("start_info"):
            assert a.session_start_info.hparams == b.session_start_info.hparams
            assert a.session_start_info.hparams["lr"].number_value == 0.1
            assert a.session_start_info.hparams["opt"].string_value == "adam"
        else:
            assert a == b
    assert ours.Scalars("hparam/accuracy")[0].value == pytest.approx(0.9)
    with SummaryWriter(tmp_path / "bad") as w, pytest.raises(TypeError):
        w.add_hparams([("lr", 0.1)], {})


def test_pr_curve_matches_torch(tmp_path):
    rng = np.random.default_rng(0)
    labels, preds = rng.integers(2, size=100), rng.random(100)

    def log(w, lib):
        w.add_pr_curve("pr", lib.from_numpy(labels), lib.from_numpy(preds), 3, num_thresholds=50)

    ours, theirs = both(tmp_path, log)
    (a,), (b,) = ours.Tensors("pr"), theirs.Tensors("pr")
    assert a.step == 3
    assert list(a.tensor_proto.float_val) == list(b.tensor_proto.float_val)
    assert [d.size for d in a.tensor_proto.tensor_shape.dim] == [6, 50]
    assert ours.SummaryMetadata("pr").plugin_data == theirs.SummaryMetadata("pr").plugin_data


def test_tensor_custom_scalars_and_mesh_match_torch(tmp_path):
    layout = {"Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
              "USA": {"dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]]}}
    vertices = np.array([[[1, 1, 1], [-1, -1, 1], [1, -1, -1]]], dtype=np.float32)

    def log(w, lib):
        w.add_tensor("x", lib.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)), 1)
        w.add_custom_scalars(layout)
        w.add_mesh("m", lib.from_numpy(vertices), global_step=2)

    ours, theirs = both(tmp_path, log)
    for tag in ("x", "custom_scalars__config__", "m_VERTEX"):
        (a,), (b,) = ours.Tensors(tag), theirs.Tensors(tag)
        assert a.tensor_proto == b.tensor_proto, tag
        assert ours.SummaryMetadata(tag) == theirs.SummaryMetadata(tag), tag


# --- embeddings -----------------------------------------------------------------------------------


def test_embedding_files_match_torch(tmp_path):
    rng = np.random.default_rng(0)
    mat = rng.standard_normal((12, 5)).astype(np.float32)
    meta = [[f"w{i}", i % 3] for i in range(12)]
    imgs = rng.random((12, 3, 6, 6)).astype(np.float32)

    def log(w, lib):
        w.add_embedding(lib.from_numpy(mat), metadata=meta, label_img=lib.from_numpy(imgs),
                        global_step=3, tag="feat/x", metadata_header=["word", "cls"])
        w.add_embedding(lib.from_numpy(mat[:4]), metadata=list("abcd"), tag="plain")

    both(tmp_path, log)
    ours, theirs = tmp_path / "ember", tmp_path / "torch"
    for rel in ("projector_config.pbtxt", "00003/feat%2fx/tensors.tsv",
                "00003/feat%2fx/metadata.tsv", "00000/plain/tensors.tsv",
                "00000/plain/metadata.tsv"):
        assert (ours / rel).read_bytes() == (theirs / rel).read_bytes(), rel
    np.testing.assert_array_equal(decode((ours / "00003/feat%2fx/sprite.png").read_bytes()),
                                  decode((theirs / "00003/feat%2fx/sprite.png").read_bytes()))
    text = (ours / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "feat/x:00003"' in text and "single_image_dim: 6" in text


# --- graphs ---------------------------------------------------------------------------------------


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 4, 5, 2, 2), nn.ReLU(), nn.MaxPool2d(2))
        self.out = nn.Linear(4 * 7 * 7, 10)

    def forward(self, x):
        x = self.conv1(x)
        return self.out(x.view(x.size(0), -1))


def test_add_graph_scopes_and_shapes(tmp_path):
    model = CNN().train()
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, ember.randn(2, 1, 28, 28))
    assert model.training  # restored after the eval-mode trace
    acc = read(tmp_path)
    assert acc.Tags()["graph"] and acc.Tags()["run_metadata"] == ["step1"]
    nodes = {n.name: n for n in acc.Graph().node}
    conv = nodes["CNN/Sequential[conv1]/Conv2d[0]/Conv"]
    assert conv.op == "Conv"
    assert list(conv.input) == ["input/input", "CNN/Sequential[conv1]/Conv2d[0]/weight",
                                "CNN/Sequential[conv1]/Conv2d[0]/bias"]
    assert [d.size for d in conv.attr["_output_shapes"].list.shape[0].dim] == [2, 4, 14, 14]
    assert b"stride : (2, 2)" in conv.attr["attr"].s
    assert nodes["CNN/Sequential[conv1]/ReLU[1]/Relu"].input == [conv.name]
    assert nodes["CNN/Sequential[conv1]/MaxPool2d[2]/MaxPool"].op == "MaxPool"
    view = nodes["CNN/View"]
    linear = nodes["CNN/Linear[out]/Linear"]
    assert linear.input[0] == view.name and linear.input[1] == "CNN/Linear[out]/weight"
    assert nodes["CNN/Linear[out]/weight"].op == "prim::GetAttr"
    out = nodes["output/output.1"]
    assert out.op == "IO Node" and list(out.input) == [linear.name]
    assert [d.size for d in out.attr["_output_shapes"].list.shape[0].dim] == [2, 10]
    assert nodes["input/input"].op == "IO Node"


def test_add_graph_multiple_outputs_and_inputs(tmp_path):
    lstm = nn.LSTM(3, 4)
    with SummaryWriter(tmp_path) as w:
        w.add_graph(lstm, (ember.randn(5, 2, 3), (ember.zeros(1, 2, 4), ember.zeros(1, 2, 4))))
    nodes = {n.name: n for n in read(tmp_path).Graph().node}
    layer = nodes["LSTM/RNNLayer"]
    assert list(layer.input)[:3] == ["input/input.1", "input/input.2", "input/input.3"]
    assert list(nodes["output/output.2"].input) == ["LSTM/RNNLayer:1"]
    assert list(nodes["output/output.3"].input) == ["LSTM/RNNLayer:2"]


def test_add_onnx_graph(tmp_path):
    pytest.importorskip("onnx")
    import ember.onnx

    path = tmp_path / "m.onnx"
    ember.onnx.export(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), ember.randn(1, 3), str(path))
    with SummaryWriter(tmp_path / "logs") as w:
        w.add_onnx_graph(str(path))
    ops = [n.op for n in read(tmp_path / "logs").Graph().node]
    assert "Gemm" in ops and "Relu" in ops


# --- the writer's lifetime ------------------------------------------------------------------------


def test_flush_close_reopen_and_purge(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=1000, flush_secs=1000, filename_suffix=".x")
    w.add_scalar("a", 1.0, 0)
    w.flush()
    assert read(tmp_path).Scalars("a")[0].value == 1.0
    w.close()
    w.close()  # a second close does nothing
    w.add_scalar("a", 2.0, 1)  # a closed writer opens a new event file
    w.close()
    files = glob.glob(str(tmp_path / "events.out.tfevents.*.x"))
    assert len(files) == 2
    assert [e.value for e in read(tmp_path).Scalars("a")] == [1.0, 2.0]
    purge = tmp_path / "purge"
    with SummaryWriter(purge) as w:
        for i in range(5):
            w.add_scalar("p", float(i), i)
    with SummaryWriter(purge, purge_step=3) as w:
        w.add_scalar("p", 30.0, 3)
    assert [(e.step, e.value) for e in read(purge).Scalars("p")] == \
        [(0, 0.0), (1, 1.0), (2, 2.0), (3, 30.0)]


def test_server_serves_scalars(tmp_path):
    """The real TensorBoard server reads the logs; the scalars come back over its HTTP API."""
    with SummaryWriter(tmp_path / "exp") as w:
        for i in range(10):
            w.add_scalar("loss", 1.0 / (i + 1), i)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path),
                             "--port", str(port), "--host", "127.0.0.1", "--reload_interval", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=exp&tag=loss"
        deadline = time.monotonic() + 90
        data = None
        while time.monotonic() < deadline and data is None:
            if proc.poll() is not None:
                pytest.fail(f"tensorboard exited with status {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    data = json.loads(r.read())
            except Exception:  # not up yet, or the run not loaded yet
                time.sleep(0.5)
        assert data is not None, "tensorboard did not serve the scalars in time"
        assert [row[1] for row in data] == list(range(10))
        np.testing.assert_allclose([row[2] for row in data], [1.0 / (i + 1) for i in range(10)],
                                   rtol=1e-6)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
