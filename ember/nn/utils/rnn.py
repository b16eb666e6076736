"""Variable-length batches for recurrent layers: ``PackedSequence`` and the functions that pack,
pad and unpad sequences, as ``torch.nn.utils.rnn``.

A packed batch stores the sequences time step by time step, longest first: step ``t`` holds
``batch_sizes[t]`` rows (one per sequence still running). Every conversion here is a single
differentiable gather (``index_select``) with an index computed on the host, so gradients flow
back to the padded or packed data.
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ember._tensor import Tensor
from ember.ops.creation import full, tensor
from ember.ops.shape import cat

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """The data of a packed batch and its ``batch_sizes`` (int64, on the CPU), with the
    permutation that sorted the batch by length (``sorted_indices``) and its inverse.

    Made by ``pack_padded_sequence`` / ``pack_sequence``; every recurrent layer accepts one and
    returns its output packed the same way.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, *_packed_sequence_init_args(data, batch_sizes,
                                                                sorted_indices, unsorted_indices))

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data.to(...)``; the index tensors follow ``data`` to its device. Returns ``self``
        when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices = _to_device(self.sorted_indices, data.device)
        unsorted_indices = _to_device(self.unsorted_indices, data.device)
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return type(self)(self.data.cuda(*args, **kwargs), self.batch_sizes,
                          *(None if t is None else t.cuda(*args, **kwargs)
                            for t in (self.sorted_indices, self.unsorted_indices)))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def pin_memory(self) -> PackedSequence:
        return type(self)(self.data.pin_memory(), self.batch_sizes,
                          *(None if t is None else t.pin_memory()
                            for t in (self.sorted_indices, self.unsorted_indices)))

    def is_pinned(self) -> bool:
        return self.data.is_pinned()

    def double(self) -> PackedSequence:
        return self.to(dtype=_dtype("float64"))

    def float(self) -> PackedSequence:
        return self.to(dtype=_dtype("float32"))

    def half(self) -> PackedSequence:
        return self.to(dtype=_dtype("float16"))

    def long(self) -> PackedSequence:
        return self.to(dtype=_dtype("int64"))

    def int(self) -> PackedSequence:
        return self.to(dtype=_dtype("int32"))

    def short(self) -> PackedSequence:
        return self.to(dtype=_dtype("int16"))

    def char(self) -> PackedSequence:
        return self.to(dtype=_dtype("int8"))

    def byte(self) -> PackedSequence:
        return self.to(dtype=_dtype("uint8"))

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _dtype(name: str):
    from ember import dtypes

    return getattr(dtypes, name)


def _to_device(t, device):
    return None if t is None else t.to(device)


def _packed_sequence_init_args(data, batch_sizes=None, sorted_indices=None,
                               unsorted_indices=None):
    if unsorted_indices is None:
        unsorted_indices = invert_permutation(sorted_indices)
    if batch_sizes is not None:
        if batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like pack_sequence "
                "and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return data, batch_sizes, sorted_indices, unsorted_indices
    if not (isinstance(data, (list, tuple)) and len(data) == 2):
        raise AssertionError("Expected data to be a list or tuple of length 2")
    return data[0], data[1], sorted_indices, unsorted_indices


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None stays None)."""
    if permutation is None:
        return None
    perm = np.asarray(permutation.tolist(), dtype=np.int64)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size)
    return tensor(inv, device=permutation.device)


def _host_ints(values):
    """A list or tensor of lengths as a host int64 array."""
    if isinstance(values, Tensor):
        return np.asarray(values.tolist()).astype(np.int64).reshape(-1)
    return np.asarray(values).astype(np.int64).reshape(-1)


def pack_padded_sequence(input, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` if ``batch_first``) of sequences of the
    given ``lengths``.

    Args:
        enforce_sorted: the lengths must be in decreasing order (default True); with False the
            batch is sorted here and the permutation kept in the result.
    """
    lens = _host_ints(lengths)
    sorted_indices = None
    order = None
    if not enforce_sorted:
        order = np.argsort(-lens, kind="stable")  # torch's sort keeps ties in order
        lens = lens[order]
        sorted_indices = tensor(order, device=input.device)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    n_steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if lens.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.size} (batch_size={batch})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if np.any(lens[1:] > lens[:-1]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
            "sidestep this requirement if you do not need ONNX exportability.")
    if lens[0] > n_steps:
        raise RuntimeError(f"pack_padded_sequence: a sequence of length {lens[0]} does not fit "
                           f"the padded input's {n_steps} time steps")
    batch_sizes = (lens[None, :] > np.arange(lens[0])[:, None]).sum(1)
    # the row of (step t, sorted sequence s) in the flattened padded input, step by step
    cols = order if order is not None else np.arange(batch)
    rows = []
    for t, bs in enumerate(batch_sizes):
        b = cols[:bs]
        rows.append(b * n_steps + t if batch_first else t * batch + b)
    index = tensor(np.concatenate(rows), device=input.device)
    flat = input.reshape((n_steps * batch,) + tuple(input.shape[2:]))
    data = flat.index_select(0, index)
    return PackedSequence(data, tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Undo ``pack_padded_sequence``: ``(padded, lengths)`` with the batch in its original order.

    Args:
        total_length: pad to this many steps (at least the longest sequence's length).
    """
    data, batch_sizes = sequence.data, sequence.batch_sizes
    sizes = _host_ints(batch_sizes)
    max_len = sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    batch = int(sizes[0])
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(1)  # of the sorted sequences
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n = int(sizes.sum())
    unsorted = sequence.unsorted_indices
    cols = np.arange(batch) if unsorted is None else _host_ints(unsorted)
    # packed row (or the padding row n) of every padded position, in the output's layout
    t = np.arange(max_len)[:, None]
    s = cols[None, :]
    valid = t < lengths[s]
    src = np.where(valid, offsets[np.minimum(t, sizes.size - 1)] + s, n)
    if batch_first:
        src = src.T
    pad = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, pad]).index_select(0, tensor(src.reshape(-1), device=data.device))
    padded = padded.reshape(src.shape + tuple(data.shape[1:]))
    return padded, tensor(lengths[cols])


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right"):
    """Stack sequences ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` if ``batch_first``), padded
    with ``padding_value`` on the ``padding_side`` ('right' or 'left') to the longest length."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    trailing = tuple(first.shape[1:])
    parts = []
    for seq in sequences:
        shape = tuple(seq.shape[1:])
        if shape != trailing:
            for j, (a, b) in enumerate(zip(trailing, shape)):
                if a != b and b != 1:
                    raise RuntimeError(f"The size of tensor a ({a}) must match the size of "
                                       f"tensor b ({b}) at non-singleton dimension {j + 1}")
            seq = seq.expand((seq.shape[0],) + trailing)
        if seq.dtype != first.dtype:
            seq = seq.to(first.dtype)
        parts.append(seq)
    lens = np.array([p.shape[0] for p in parts], dtype=np.int64)
    max_len = int(lens.max())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    n = int(lens.sum())
    t = np.arange(max_len)[:, None]
    pos = t if padding_side == "right" else t - (max_len - lens[None, :])
    valid = (pos >= 0) & (pos < lens[None, :])
    src = np.where(valid, starts[None, :] + pos, n)  # (T, B)
    if batch_first:
        src = src.T
    pad = full((1,) + trailing, padding_value, dtype=first.dtype, device=first.device)
    out = cat(parts + [pad]).index_select(0, tensor(src.reshape(-1), device=first.device))
    return out.reshape(src.shape + trailing)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into its sequences of the given ``lengths``.

    torch transposes a time-major ``padded_sequences`` in place; ember leaves it unchanged.
    """
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _host_ints(lengths)
    return [padded_sequences[b, :int(n)].clone() for b, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``(L_i, *)`` (longest first unless ``enforce_sorted=False``)."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences a ``PackedSequence`` holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

