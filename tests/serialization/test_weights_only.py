"""The adversarial suite: hand-crafted checkpoints that try to run code, reach outside the archive
or exhaust memory. With weights_only=True (the default) none runs anything (the marker file is
never created) and each fails with a clear error."""

import io
import os
import pickle
import struct
import subprocess
import zipfile
import zlib

import numpy as np
import pytest
import ser_craft as C
from ser_craft import (
    APPEND,
    BUILD,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_TUPLE,
    MARK,
    NEWFALSE,
    NONE,
    REDUCE,
    SETITEM,
    call,
    glob,
    num,
    pickle_of,
    pid,
    rebuild,
    text,
    tup,
    zip_checkpoint,
)

import ember
from ember.serialization import add_safe_globals, clear_safe_globals, load, safe_globals, save

FLOATS = np.arange(4, dtype=np.float32).tobytes()  # one 4-element float storage, key "0"


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a crafted checkpoint ran code"


def load_bytes(data: bytes, **kwargs):
    return load(io.BytesIO(data), **kwargs)


def refuse(pkl: bytes, match: str, error=pickle.UnpicklingError, records=None):
    """The pickle, in a zip and in a legacy file, is refused with ``error`` matching ``match``."""
    with pytest.raises(error, match=match):
        load_bytes(zip_checkpoint(pkl, records if records is not None else {"0": FLOATS}))
    with pytest.raises(error, match=match):
        load_bytes(C.legacy_checkpoint(pkl, {}))


# --- code execution through globals --------------------------------------------------------------

@pytest.mark.parametrize("module,name", [("posix", "system"), ("os", "system"), ("nt", "system"),
                                         ("subprocess", "check_call"), ("subprocess", "Popen"),
                                         ("sys", "exit"), ("importlib", "import_module")])
def test_os_and_process_globals_are_blocked(module, name, marker):
    pkl = pickle_of(call(glob(module, name), text(f"touch {marker}")))
    refuse(pkl, f"GLOBAL {module}.{name} whose module {module} is blocked")


@pytest.mark.parametrize("name", ["eval", "exec", "compile", "__import__", "getattr", "open"])
def test_dangerous_builtins_are_refused(name, marker):
    code = f"open({str(marker)!r}, 'w').write('x')"
    pkl = pickle_of(call(glob("builtins", name), text(code)))
    refuse(pkl, f"builtins.{name}|{name} was not an allowed global")
    pkl2 = pickle_of(call(glob("__builtin__", name), text(code)))  # the Python 2 spelling
    refuse(pkl2, f"builtins.{name}|{name} was not an allowed global")


def test_blocked_even_when_user_allowlists_them(marker):
    try:
        add_safe_globals([os.system, eval, getattr])
        refuse(pickle_of(call(glob("posix", "system"), text(f"touch {marker}"))), "is blocked")
        refuse(pickle_of(call(glob("builtins", "eval"), text(f"open('{marker}','w')"))),
               "is blocked")
        refuse(pickle_of(call(glob("builtins", "getattr"), glob("collections", "OrderedDict"),
                              text("fromkeys"))), "is blocked")
    finally:
        clear_safe_globals()


def test_getattr_chain(marker):
    # getattr(getattr(OrderedDict, '__init__'), '__globals__')['sys'].modules['os'].system(...)
    inner = call(glob("builtins", "getattr"), glob("collections", "OrderedDict"), text("__init__"))
    chain = call(glob("builtins", "getattr"), inner, text("__globals__"))
    refuse(pickle_of(chain), "is blocked")


def test_reduce_objects_from_plain_pickle(marker):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    class EvilEval:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w')",))

    class EvilPopen:
        def __reduce__(self):
            return (subprocess.Popen, (["touch", str(marker)],))

    for evil in (Evil(), EvilEval(), EvilPopen()):
        for protocol in (2, 4):
            refuse(pickle.dumps({"weights": evil}, protocol=protocol), "blocked|not an allowed")
    # ember.save writes the same reduction: loading it refuses, weights_only=False would run it
    buf = io.BytesIO()
    save({"x": ember.ones(1), "evil": Evil()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="posix.system whose module posix is blocked"):
        load(buf)


def test_unknown_global_message_names_the_fixes():
    with pytest.raises(pickle.UnpicklingError) as info:
        load_bytes(zip_checkpoint(pickle_of(call(glob("mymodule", "Thing")))))
    message = str(info.value)
    assert "Weights only load failed" in message
    assert "GLOBAL mymodule.Thing was not an allowed global by default" in message
    assert "`weights_only` set to `False`" in message
    assert "ember.serialization.add_safe_globals([mymodule.Thing])" in message
    assert "ember.serialization.safe_globals([mymodule.Thing])" in message


def test_reduce_on_objects_that_are_not_allowed_globals():
    # an OrderedDict instance on the stack, called: not a recognised function
    pkl = pickle_of(C.ordered_dict() + EMPTY_TUPLE + REDUCE)
    refuse(pkl, "Trying to call reduce for unrecognized function")
    # torch.Tensor may be named (by _rebuild_from_type_v2) but never called
    refuse(pickle_of(call(glob("torch", "Tensor"), num(10**9))),
           "Trying to call reduce for unrecognized function")
    refuse(pickle_of(call(glob("torch", "float32"))), "unrecognized function")


def test_other_import_routes_are_refused(marker):
    cmd = f"touch {marker}".encode()
    inst = b"(S'" + cmd + b"'\nios\nsystem\n."  # protocol 0 INST
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand"):
        load_bytes(zip_checkpoint(inst))
    obj = C.PROTO2 + MARK + glob("posix", "system") + text(f"touch {marker}") + b"o."  # OBJ
    with pytest.raises(pickle.UnpicklingError, match="blocked"):
        load_bytes(zip_checkpoint(obj))
    ext = C.PROTO2 + b"\x82\x01" + EMPTY_TUPLE + REDUCE + b"."  # EXT1: the copyreg registry
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand 130"):
        load_bytes(zip_checkpoint(ext))
    persid = C.PROTO2 + b"Pstorage\n."  # text persistent id
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand"):
        load_bytes(zip_checkpoint(persid))
    stack_global = (b"\x80\x04" + b"\x8c\x05posix" + b"\x8c\x06system" + b"\x93"
                    + b"\x8c" + bytes([len(cmd)]) + cmd + b"\x85R.")
    with pytest.raises(pickle.UnpicklingError, match="blocked"):
        load_bytes(zip_checkpoint(stack_global))


# --- BUILD / NEWOBJ on allowed objects -----------------------------------------------------------

def test_build_cannot_patch_classes_or_singletons():
    before = ember.float32.np
    # BUILD on a dtype singleton (slot state) and on a class (would monkeypatch it)
    for target in (glob("torch", "float32"), glob("collections", "OrderedDict"),
                   glob("torch", "Size"), call(glob("torch", "Size"), tup(num(2)))):
        state = tup(NONE, EMPTY_DICT + text("np") + glob("torch", "int8") + SETITEM)
        with pytest.raises(pickle.UnpicklingError, match="Can only build OrderedDict"):
            load_bytes(zip_checkpoint(pickle_of(target + state + BUILD)))
    assert ember.float32.np is before
    # BUILD on a tensor would set its internals
    tensor = rebuild(pid("0", 4), 0, (4,), (1,))
    state = EMPTY_DICT + text("_data") + text("oops") + SETITEM
    with pytest.raises(pickle.UnpicklingError, match="Can only build OrderedDict"):
        load_bytes(zip_checkpoint(pickle_of(tensor + state + BUILD), {"0": FLOATS}))


def test_ordered_dict_state_is_attributes_only():
    ok = pickle_of(C.ordered_dict() + EMPTY_DICT + text("_metadata") + EMPTY_DICT + SETITEM
                   + BUILD)
    assert load_bytes(zip_checkpoint(ok))._metadata == {}
    bad = pickle_of(C.ordered_dict() + EMPTY_DICT + num(1) + num(2) + SETITEM + BUILD)
    with pytest.raises(pickle.UnpicklingError, match="state of an OrderedDict"):
        load_bytes(zip_checkpoint(bad))


def test_newobj_only_for_parameter_and_allowlisted_classes():
    newobj = glob("torch", "device") + EMPTY_TUPLE + b"\x81"
    with pytest.raises(pickle.UnpicklingError, match="Can only create new object"):
        load_bytes(zip_checkpoint(pickle_of(newobj)))
    param = (glob("torch.nn.parameter", "Parameter")
             + tup(rebuild(pid("0", 4), 0, (4,), (1,))) + b"\x81")
    out = load_bytes(zip_checkpoint(pickle_of(param), {"0": FLOATS}))
    assert isinstance(out, ember.nn.Parameter) and out.requires_grad
    with pytest.raises(TypeError, match="must be Tensor"):
        load_bytes(zip_checkpoint(pickle_of(glob("torch.nn.parameter", "Parameter")
                                            + tup(text("x")) + b"\x81")))


def test_container_opcodes_check_their_targets():
    refuse(pickle_of(C.ordered_dict() + num(1) + APPEND), "Can only append to lists")
    refuse(pickle_of(EMPTY_LIST + num(1) + num(2) + SETITEM), "Can only SETITEM for dict")
    refuse(pickle_of(call(glob("torch", "Size"), tup(num(1))) + num(1) + num(2) + SETITEM),
           "Can only SETITEM")


def test_persistent_ids_must_be_storages():
    refuse(pickle_of(text("0") + C.BINPERSID), "Only persistent_load of storage is allowed")
    refuse(pickle_of(tup(text("module"), NONE) + C.BINPERSID), "Only persistent_load of storage")
    bad_type = tup(text("storage"), num(3), text("0"), text("cpu"), num(4)) + C.BINPERSID
    with pytest.raises(pickle.UnpicklingError, match="invalid storage reference"):
        load_bytes(zip_checkpoint(pickle_of(bad_type), {"0": FLOATS}))


# --- malicious tensor arguments ------------------------------------------------------------------

@pytest.mark.parametrize("offset,size,stride,match", [
    (0, (5,), (1,), "out of bounds for storage of size 16"),  # one past the end
    (3, (2,), (1,), "out of bounds"),
    (0, (2, 2), (3, 1), "out of bounds"),
    (4, (1,), (1,), "out of bounds"),
    (0, (2**40,), (1,), "out of bounds"),
    (0, (2**40, 2**40), (0, 0), "too many"),
    (-1, (1,), (1,), "storage offset must be a non-negative int"),
    (0, (-1,), (1,), "non-negative ints"),
    (0, (2,), (-1,), "non-negative ints"),
    (0, (2, 2), (1,), "differ in length"),
    (0, (0, 2**70), (1, 1), "non-negative ints"),
    (0, (1,), (2**64,), "non-negative ints"),
])
def test_rebuild_tensor_arguments_are_validated(offset, size, stride, match):
    pkl = pickle_of(rebuild(pid("0", 4), offset, size, stride))
    with pytest.raises(RuntimeError, match=match):
        load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))
    legacy = pickle_of(rebuild(pid("0", 4, legacy=True), offset, size, stride))
    with pytest.raises(RuntimeError, match=match):
        load_bytes(C.legacy_checkpoint(legacy, {"0": (4, FLOATS)}))


@pytest.mark.parametrize("args", [
    [text("x"), num(0), tup(num(1)), tup(num(1)), NEWFALSE, C.ordered_dict()],  # not a storage
    [pid("0", 4), text("0"), tup(num(1)), tup(num(1)), NEWFALSE, C.ordered_dict()],
    [pid("0", 4), num(0), tup(text("1")), tup(num(1)), NEWFALSE, C.ordered_dict()],
    [pid("0", 4), num(0), tup(C.NEWTRUE), tup(num(1)), NEWFALSE, C.ordered_dict()],
    [pid("0", 4), num(0), num(1), tup(num(1)), NEWFALSE, C.ordered_dict()],
    [pid("0", 4), num(0), tup(num(1)), tup(num(1)), num(1), C.ordered_dict()],
    [pid("0", 4), num(0), tup(num(1)), tup(num(1)), NEWFALSE, num(3)],
])
def test_rebuild_tensor_argument_types(args):
    pkl = pickle_of(call(glob("torch._utils", "_rebuild_tensor_v2"), *args))
    with pytest.raises(RuntimeError, match="invalid tensor in checkpoint"):
        load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))


def test_storage_larger_than_its_record():
    for numel in (5, 1000, 2**40):
        pkl = pickle_of(rebuild(pid("0", numel), 0, (1,), (1,)))
        with pytest.raises(RuntimeError, match="holds 16 bytes, but the checkpoint's pickle "
                                               "expects"):
            load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))
    with pytest.raises(pickle.UnpicklingError, match="invalid storage reference"):
        load_bytes(zip_checkpoint(pickle_of(rebuild(pid("0", -4), 0, (1,), (1,))), {"0": FLOATS}))
    huge = pickle_of(rebuild(pid("0", 2**40, legacy=True), 0, (1,), (1,)))
    with pytest.raises(RuntimeError, match="more than the file holds|more than"):
        load_bytes(C.legacy_checkpoint(huge, {"0": (4, FLOATS)}))


def test_storage_keys_cannot_name_other_entries():
    for key in ("../../etc/passwd", "/etc/passwd", "0/../../x", "", "a b"):
        pkl = pickle_of(rebuild(pid(key, 4), 0, (1,), (1,)))
        with pytest.raises(pickle.UnpicklingError, match="invalid storage reference"):
            load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))
    missing = pickle_of(rebuild(pid("7", 4), 0, (1,), (1,)))
    with pytest.raises(RuntimeError, match="failed locating file data/7"):
        load_bytes(zip_checkpoint(missing, {"0": FLOATS}))


def test_one_storage_referenced_with_two_sizes():
    pkl = pickle_of(tup(rebuild(pid("0", 4), 0, (1,), (1,)),
                        rebuild(pid("0", 2, storage="DoubleStorage"), 0, (1,), (1,))))
    assert len(load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))) == 2  # same bytes, other dtype
    pkl = pickle_of(tup(rebuild(pid("0", 4), 0, (1,), (1,)),
                        rebuild(pid("0", 3), 0, (1,), (1,))))
    with pytest.raises(RuntimeError, match="referenced with 16 and 12 bytes"):
        load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))


def test_rebuild_from_type_and_parameter_state_are_restricted():
    tensor_args = tup(pid("0", 4), num(0), tup(num(4)), tup(num(1)), NEWFALSE, C.ordered_dict())
    for func in (glob("collections", "OrderedDict"), glob("torch", "Size")):
        pkl = pickle_of(call(glob("torch._tensor", "_rebuild_from_type_v2"), func,
                             glob("torch", "Tensor"), tensor_args, EMPTY_DICT))
        with pytest.raises(pickle.UnpicklingError, match="may only call a tensor rebuild"):
            load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))
    for attr in ("_data", "grad", "data", "__class__", "requires_grad", "_base"):
        state = EMPTY_DICT + text(attr) + num(1) + SETITEM
        pkl = pickle_of(call(glob("torch._tensor", "_rebuild_from_type_v2"),
                             glob("torch._utils", "_rebuild_tensor_v2"), glob("torch", "Tensor"),
                             tensor_args, state))
        with pytest.raises(pickle.UnpicklingError, match="may not be named"):
            load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))
        param = pickle_of(call(glob("torch._utils", "_rebuild_parameter_with_state"),
                               rebuild(pid("0", 4), 0, (4,), (1,)), C.NEWTRUE,
                               C.ordered_dict(), state))
        with pytest.raises(pickle.UnpicklingError, match="may not be named"):
            load_bytes(zip_checkpoint(param, {"0": FLOATS}))


def test_checked_builtins():
    refuse(pickle_of(call(glob("_codecs", "encode"), text("abc"), text("rot13"))),
           "_codecs.encode is only allowed")
    refuse(pickle_of(call(glob("__builtin__", "bytearray"), num(10**12))),
           "bytearray\\(\\) is only allowed")
    refuse(pickle_of(call(glob("__builtin__", "set"), text("abc"))), "set\\(\\) is only allowed")
    refuse(pickle_of(call(glob("__builtin__", "complex"), text("1+2j"))),
           "complex\\(\\) is only allowed")


def test_oversized_and_truncated_opcodes():
    long4 = C.PROTO2 + b"\x8b" + struct.pack("<i", 10**8) + b"\x00" * 16 + b"."
    refuse(long4, "LONG of 100000000 bytes refused")
    unicode = C.PROTO2 + b"X" + struct.pack("<I", 2**31) + b"abc"
    refuse(unicode, "corrupt or truncated")
    refuse(C.PROTO2 + b"h\x05.", "corrupt or truncated")  # a memo entry that was never stored
    refuse(C.PROTO2 + MARK + b".", "ended inside a MARK")
    refuse(C.PROTO2 + b"R.", "corrupt or truncated")  # REDUCE on an empty stack
    refuse(b"\x80\x06N.", "unsupported pickle protocol")
    refuse(C.PROTO2 + b"c" + b"a" * 5000, "GLOBAL name too long or truncated")


def test_huge_length_prefixes_do_not_allocate(tmp_path):
    """A length prefix of 2**62 bytes, read from a real file: a clean error, no MemoryError."""
    for op in (b"\x8d", b"\x8e"):  # BINUNICODE8, BINBYTES8
        blob = C.legacy_checkpoint(b"\x80\x04" + op + struct.pack("<Q", 2**62) + b"x" * 100, {})
        path = tmp_path / "huge.pt"
        path.write_bytes(blob)
        with pytest.raises(pickle.UnpicklingError, match="truncated"):
            load(path)


def test_tensor_kinds_ember_lacks_are_refused_clearly():
    pkl = pickle_of(call(glob("torch._utils", "_rebuild_sparse_tensor"), num(0)))
    with pytest.raises(RuntimeError, match="cannot read sparse tensors"):
        load_bytes(zip_checkpoint(pkl))
    pkl = pickle_of(call(glob("torch._utils", "_rebuild_tensor_v3"),
                         tup(text("storage"), glob("torch.storage", "UntypedStorage"), text("0"),
                             text("cpu"), num(16)) + C.BINPERSID,
                         num(0), tup(num(4)), tup(num(1)), NEWFALSE, C.ordered_dict(),
                         glob("torch", "uint16")))
    with pytest.raises(RuntimeError, match="dtype torch.uint16"):
        load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))
    pkl = pickle_of(rebuild(pid("0", 4, storage="QInt8Storage"), 0, (1,), (1,)))
    with pytest.raises(RuntimeError, match="torch.QInt8Storage"):
        load_bytes(zip_checkpoint(pkl, {"0": FLOATS}))


# --- the zip container ---------------------------------------------------------------------------

GOOD = pickle_of(rebuild(pid("0", 4), 0, (4,), (1,)))


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "archive/../../x",
                                  "archive/data/../../../y", "C:/windows/x", "archive\\..\\x",
                                  "archive/a\x00b"])
def test_path_traversal_entries_are_refused(name):
    # zipfile cuts names at a NUL when writing: write a stand-in, then patch the NUL in
    data = zip_checkpoint(GOOD, {"0": FLOATS}, entries=[(name.replace("\x00", "\x01"), b"x")])
    data = data.replace(name.replace("\x00", "\x01").encode(), name.encode())
    with pytest.raises(RuntimeError, match="unsafe name"):
        load_bytes(data)


def test_duplicate_entries_are_refused():
    data = zip_checkpoint(GOOD, {"0": FLOATS}, entries=[("archive/data/0", b"\x00" * 16)])
    with pytest.raises(RuntimeError, match="two entries named 'archive/data/0'"):
        load_bytes(data)
    data = zip_checkpoint(GOOD, {"0": FLOATS}, entries=[("archive/data.pkl", pickle_of(NONE))])
    with pytest.raises(RuntimeError, match="two entries"):
        load_bytes(data)


def test_entries_outside_the_archive_folder_are_refused():
    with pytest.raises(RuntimeError, match="outside the archive folder"):
        load_bytes(zip_checkpoint(GOOD, {"0": FLOATS}, entries=[("other/evil", b"x")]))


def test_zip_bombs_are_refused():
    # A record whose central header claims ~4 GiB from 1 KiB of compressed data (and a pickle
    # asking for exactly that much): refused before anything is allocated or inflated.
    declared = 0xFFFFFFF0
    pkl = pickle_of(rebuild(pid("0", declared // 4), 0, (1,), (1,)))
    data = bytearray(zip_checkpoint(pkl, {"0": b"\x00" * 1024}, deflate=True))
    name_at = data.find(b"archive/data/0", data.find(b"PK\x01\x02"))
    struct.pack_into("<I", data, name_at - 46 + 24, declared)  # the uncompressed-size field
    with pytest.raises(RuntimeError, match="claims to expand .*zip bomb"):
        load_bytes(bytes(data))
    # A real deflate bomb: 64 MiB of zeros where the pickle asks for 16 bytes.
    bomb = zip_checkpoint(GOOD, {"0": b"\x00" * (64 << 20)}, deflate=True)
    assert len(bomb) < 1 << 20
    with pytest.raises(RuntimeError, match="holds 67108864 bytes, but the checkpoint's pickle"):
        load_bytes(bomb)


def test_compressed_record_larger_than_declared_is_caught():
    raw = zip_checkpoint(GOOD, {"0": FLOATS}, deflate=True)
    good = load_bytes(raw)
    np.testing.assert_array_equal(good.numpy(), np.arange(4, dtype=np.float32))
    # swap in a compressed stream of more data than the header declares: the CRC catches it
    data = bytearray(raw)
    info = zipfile.ZipFile(io.BytesIO(raw)).getinfo("archive/data/0")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    longer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = longer.compress(b"\x01" * 1000) + longer.flush()
    assert len(stream) <= info.compress_size
    data[start:start + len(stream)] = stream
    with pytest.raises(RuntimeError, match="corrupt"):
        load_bytes(bytes(data))


def test_torchscript_and_tar_archives_are_refused(tmp_path):
    data = zip_checkpoint(GOOD, {"0": FLOATS}, entries=[("archive/constants.pkl", b"")])
    with pytest.raises(RuntimeError, match="TorchScript"):
        load_bytes(data)
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("storages")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"\x00"))
    with pytest.raises(RuntimeError, match="legacy .tar checkpoint format"):
        load_bytes(buf.getvalue())


def test_random_bytes_and_garbage_never_crash_badly():
    rng = np.random.default_rng(1)
    for i in range(30):
        blob = rng.bytes(int(rng.integers(1, 3000)))
        if i % 3 == 0:
            blob = b"PK\x03\x04" + blob
        elif i % 3 == 1:
            blob = C.PROTO2 + blob
        with pytest.raises((pickle.UnpicklingError, RuntimeError, EOFError)):
            load_bytes(blob)


def test_fuzzed_checkpoints_fail_cleanly(marker):
    """Every byte of a real checkpoint's pickle flipped in turn: loads or fails with a clear
    error type, never another exception and never code."""
    buf = io.BytesIO()
    save({"w": ember.ones(2, 3), "v": [ember.tensor([1, 2]), ember.Size([2])]}, buf)
    raw = buf.getvalue()
    zf = zipfile.ZipFile(io.BytesIO(raw))
    pkl = zf.read("archive/data.pkl")
    records = {n.split("/")[-1]: zf.read(n) for n in zf.namelist() if "/data/" in n}
    rng = np.random.default_rng(2)
    for i in range(len(pkl)):
        mutated = bytearray(pkl)
        mutated[i] = int(rng.integers(0, 256))
        try:
            load_bytes(zip_checkpoint(bytes(mutated), records))
        except (pickle.UnpicklingError, RuntimeError, TypeError, ValueError):
            pass


def test_weights_only_false_runs_the_pickle(marker):
    """The contrast: weights_only=False is plain unpickling (trusted files only)."""
    class Touch:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buf = io.BytesIO()
    save({"touch": Touch()}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        load(buf)
    assert not marker.exists()
    buf.seek(0)
    load(buf, weights_only=False)["touch"].close()
    assert marker.exists()
    marker.unlink()


class Config:
    """A user class for the allow-list tests."""


def test_safe_globals_context_manager_scopes_the_allowance():
    buf = io.BytesIO()
    cfg = Config()
    cfg.lr = 0.1
    save({"cfg": cfg}, buf)
    with safe_globals([Config]):
        buf.seek(0)
        assert load(buf)["cfg"].lr == 0.1
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="Config"):
        load(buf)
