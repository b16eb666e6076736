"""ember: PyTorch's programming model on NumPy (CPU) and CuPy (CUDA).

``import ember as torch`` runs PyTorch programs: tensors with autograd, ``nn``, ``optim``,
``utils.data``, save/load. See README.md.
"""

from __future__ import annotations

import warnings as _warnings

# NumPy warns about x / 0, log(0), overflow...; PyTorch is silent. Silence them where ember's own
# ops raise them (a filter costs nothing per op), leaving the user's own NumPy code as it was.
_warnings.filterwarnings("ignore", r"(divide by zero|invalid value|overflow) encountered",
                         RuntimeWarning, r"ember\.")

# Tensor first: the op families it inherits from import the autograd layer, which needs it.
from ember._tensor import Tensor  # noqa: I001
from ember._size import Size
from ember import dtypes
from ember.dtypes import (bfloat16, bool, cdouble, cfloat, complex64, complex128, double, dtype,
                          finfo, float, float16, float32, float64, get_default_dtype, half, iinfo,
                          int, int8, int16, int32, int64, long, promote_types, result_type,
                          set_default_dtype, short, uint8, can_cast)
from ember.backend import device
from ember.backend.threads import get_num_threads, set_num_threads
from ember import autograd, cuda
from ember.autograd import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                            set_grad_enabled)
from ember.autograd.grad_mode import is_inference_mode_enabled
from ember._legacy_types import (BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor,
                                 FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor)
from ember.ops.arithmetic import *  # noqa: F403
from ember.ops.comparison import *  # noqa: F403
from ember.ops.copy import *  # noqa: F403
from ember.ops.creation import *  # noqa: F403
from ember.ops.indexing import *  # noqa: F403
from ember.ops.linalg import *  # noqa: F403
from ember.ops.pointwise import *  # noqa: F403
from ember.ops.random import *  # noqa: F403
from ember.ops.reduction import *  # noqa: F403
from ember.ops.shape import *  # noqa: F403

from ember._tensor_str import get_printoptions, printoptions, set_printoptions
from ember import linalg, random, return_types
from ember.random import (default_generator, get_rng_state, initial_seed, manual_seed, seed,
                          set_rng_state)

# The layers above the core; each imports the core, never the other way round.
from ember import distributed, nn, onnx, optim, utils
# torch also exposes these functional ops at the top level (``torch.conv2d``), with F's signatures.
from ember.nn.functional import (adaptive_avg_pool1d, avg_pool1d, bilinear, celu, conv1d, conv2d,
                                 conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
                                 cosine_similarity, hardshrink, max_pool1d, max_pool2d, max_pool3d,
                                 pairwise_distance, pixel_shuffle, pixel_unshuffle, prelu, rrelu,
                                 selu, threshold)
from ember import serialization
from ember.serialization import load, save

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    return input.is_complex()


def numel(input: Tensor) -> int:
    return input.numel()
