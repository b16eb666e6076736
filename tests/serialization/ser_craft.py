"""Hand-made checkpoints for the serialization tests: pickles written opcode by opcode, and zip or
legacy containers around them, so that tests can build exactly the (malicious) file they need.
"""

from __future__ import annotations

import io
import pickle
import struct
import warnings
import zipfile

PROTO2 = b"\x80\x02"
MARK, TUPLE, REDUCE, BUILD, STOP = b"(", b"t", b"R", b"b", b"."
BINPERSID, EMPTY_DICT, EMPTY_TUPLE, EMPTY_LIST = b"Q", b"}", b")", b"]"
NEWTRUE, NEWFALSE, NONE, SETITEM, APPEND = b"\x88", b"\x89", b"N", b"s", b"a"


def glob(module: str, name: str) -> bytes:
    """``GLOBAL module name``."""
    return b"c" + f"{module}\n{name}\n".encode()


def text(s: str) -> bytes:
    """``BINUNICODE s``."""
    data = s.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def num(n: int) -> bytes:
    """A signed 32-bit int (``BININT``), or ``LONG1`` beyond that."""
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    data = pickle.encode_long(n)
    return b"\x8a" + bytes([len(data)]) + data


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def call(func: bytes, *args: bytes) -> bytes:
    """``func(*args)`` through ``REDUCE``."""
    return func + tup(*args) + REDUCE


def ordered_dict() -> bytes:
    return call(glob("collections", "OrderedDict"))


def pid(key: str, numel: int, storage: str = "FloatStorage", location: str = "cpu",
        legacy: bool = False) -> bytes:
    """A persistent storage reference, as torch writes it (legacy: with a None view)."""
    items = [text("storage"), glob("torch", storage), text(key), text(location), num(numel)]
    return tup(*items, *([NONE] if legacy else [])) + BINPERSID


def rebuild(storage_ref: bytes, offset: int, size, stride, requires_grad: bool = False) -> bytes:
    """``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``."""
    return call(glob("torch._utils", "_rebuild_tensor_v2"), storage_ref, num(offset),
                tup(*map(num, size)), tup(*map(num, stride)),
                NEWTRUE if requires_grad else NEWFALSE, ordered_dict())


def pickle_of(body: bytes) -> bytes:
    return PROTO2 + body + STOP


def zip_checkpoint(pkl: bytes, records: dict | None = None, prefix: str = "archive",
                   entries=(), deflate: bool = False) -> bytes:
    """A torch-style zip: ``prefix/data.pkl``, ``prefix/data/<key>`` records, and any raw
    ``(name, bytes)`` entries (duplicates and hostile names included)."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names tests want
        with zipfile.ZipFile(buf, "w", method) as zf:
            zf.writestr(f"{prefix}/data.pkl", pkl)
            zf.writestr(f"{prefix}/byteorder", "little")
            for key, data in (records or {}).items():
                zf.writestr(f"{prefix}/data/{key}", data)
            for name, data in entries:
                zf.writestr(name, data)
            zf.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


def legacy_checkpoint(pkl: bytes, storages: dict, little_endian: bool = True) -> bytes:
    """The pre-1.6 format: magic, protocol, system info, ``pkl``, keys, then each storage as an
    element count and raw bytes. ``storages`` maps key -> (numel, data)."""
    sys_info = {"protocol_version": 1001, "little_endian": little_endian,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    out = [pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, sys_info)]
    out.append(pkl)
    out.append(pickle.dumps(list(storages), protocol=2))
    for numel, data in storages.values():
        out.append(struct.pack("<q" if little_endian else ">q", numel) + data)
    return b"".join(out)
