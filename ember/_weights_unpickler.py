"""The ``weights_only`` unpickler: reads a pickle without ever running code from it.

Python's ``pickle`` builds objects by calling whatever callables the data names, so a pickle can
run ``os.system``. This unpickler interprets the opcodes itself (as torch's does) and:

- resolves a global only through an allow-list: the tensor rebuild functions, dtypes, ``Size``,
  ``device``, ``OrderedDict``... (the table ``ember.serialization`` passes in) plus what the user
  added with :func:`add_safe_globals`; modules that can reach the operating system are refused
  even when the user allow-lists them (``os``, ``sys``, ``subprocess``, ``builtins.eval``, ...);
- calls (``REDUCE``) and instantiates (``NEWOBJ``) only allow-listed objects, identified by
  identity, never by attribute lookup, so no ``getattr`` chain can reach anything else;
- sets state (``BUILD``) only on ``OrderedDict`` instances (``state_dict()._metadata``) and on
  instances of classes the user allow-listed;
- refuses the opcodes that import or call by other routes (``INST``, ``OBJ``, ``EXT*``, text
  ``PERSID``) and the text-protocol ones, and checks every container operation's target type.

Arguments of the allowed functions are validated by those functions (see
``ember/serialization.py``), before any array is touched.
"""

from __future__ import annotations

import _compat_pickle
import io
import struct
from collections import Counter, OrderedDict
from pickle import UnpicklingError, decode_long
from typing import Any

__all__ = ["Unpickler", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "format_error"]

# Never allowed, even when a user allow-lists something from them: they reach the process, the
# file system or the import system. (torch blocks sys, os, posix, nt; the rest closes the same
# doors by other names.)
_BLOCKED_MODULES = frozenset({
    "sys", "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "importlib", "runpy",
    "shutil", "socket", "ctypes", "pickle", "_pickle", "marshal", "code", "codeop", "pty",
    "multiprocessing", "signal", "io", "_io", "pathlib", "tempfile", "webbrowser", "platform",
})
_BLOCKED_BUILTINS = frozenset({
    "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "open",
    "breakpoint", "input", "globals", "locals", "vars", "exit", "quit", "help", "memoryview",
})

# ``LONG4`` can encode an integer of any size; decoding a gigabyte-long one is a denial of
# service, and no checkpoint holds integers of more than a few hundred bits.
_MAX_LONG_BYTES = 4096
_MAX_NAME = 1024  # the longest ``module`` or ``name`` line a GLOBAL may have
_READ_CHUNK = 1 << 20  # long strings are read in pieces of this many bytes


# --- the user's allow-list ------------------------------------------------------------------------

_safe_globals_set: set = set()


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes/functions in ``ember.load(..., weights_only=True)``.

    Each item is the object itself (found under ``obj.__module__ + '.' + obj.__qualname__``) or a
    tuple ``(obj, "module.name")`` when the pickle names it differently.
    """
    global _safe_globals_set
    _safe_globals_set = _safe_globals_set.union(safe_globals)


def get_safe_globals() -> list:
    """The objects added with :func:`add_safe_globals`."""
    return list(_safe_globals_set)


def clear_safe_globals() -> None:
    """Forget every object added with :func:`add_safe_globals`."""
    global _safe_globals_set
    _safe_globals_set = set()


def _remove_safe_globals(globals_to_remove: list) -> None:
    global _safe_globals_set
    _safe_globals_set = _safe_globals_set - set(globals_to_remove)


class safe_globals:
    """Context manager allowing ``safe_globals`` for the ``ember.load`` calls inside it."""

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type, exc, tb) -> None:
        _remove_safe_globals(self.safe_globals)


def _user_allowed_globals() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in _safe_globals_set:
        if isinstance(item, tuple):
            if len(item) != 2:
                raise ValueError("Expected tuple of length 2 (global, str of callable full path), "
                                 f"but got tuple of length: {len(item)}")
            if type(item[1]) is not str:
                raise TypeError("Expected second item in tuple to be str of callable full path, "
                                f"but got: {type(item[1])}")
            out[item[1]] = item[0]
        else:
            out[f"{item.__module__}.{item.__qualname__}"] = item
    return out


# --- messages -------------------------------------------------------------------------------------

UNSAFE_MESSAGE = (
    "ember.load defaults to `weights_only=True`. Re-running `ember.load` with `weights_only` set "
    "to `False` will likely succeed, but it can result in arbitrary code execution. Do it only if "
    "you got the file from a trusted source."
)
_DOCS_MESSAGE = (
    "\n\nCheck the documentation of ember.load to learn more about types accepted by default "
    "with weights_only."
)


def format_error(message: str) -> str:
    """torch's ``Weights only load failed`` message around an unpickler error ``message``."""
    if "was not an allowed global by default" in message:
        text = ("Weights only load failed. This file can still be loaded, to do so you have two "
                "options, do those steps only if you trust the source of the checkpoint. "
                f"\n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` "
                "please check the recommended steps in the following error message.\n\t"
                "WeightsUnpickler error: " + message)
    else:
        text = f"Weights only load failed. {UNSAFE_MESSAGE}\n"
        if "is blocked" not in message:
            text += ("Please file an issue with the following so that we can make "
                     "`weights_only=True` compatible with your use case: WeightsUnpickler error: ")
        text += "\n\n" + message
    return text + _DOCS_MESSAGE


def _unsupported_global(full_path: str) -> UnpicklingError:
    if full_path.startswith("builtins."):
        full_path = full_path[len("builtins."):]
    return UnpicklingError(
        f"Unsupported global: GLOBAL {full_path} was not an allowed global by default. Please use "
        f"`ember.serialization.add_safe_globals([{full_path}])` or the "
        f"`ember.serialization.safe_globals([{full_path}])` context manager to allowlist this "
        "global if you trust this class/function.")


class _Foreign(Exception):
    """Carries an error raised by an allowed function out of the opcode loop unchanged."""


# --- the unpickler --------------------------------------------------------------------------------


class Unpickler:
    """Interprets a pickle's opcodes, building only data and allow-listed objects.

    Args:
        file: a binary file object positioned at the pickle.
        allowed: ``{"module.name": object}``, the globals a checkpoint may name.
        callables: those of ``allowed``'s objects that ``REDUCE`` may call (their arguments are
            validated by themselves) and, for classes, that ``NEWOBJ`` may instantiate.
        persistent_load: called with each persistent id (a ``('storage', ...)`` tuple).
        encoding: how Python 2 ``str`` (``BINSTRING``) data is decoded; ``'bytes'`` keeps bytes.
    """

    def __init__(self, file, *, allowed: dict[str, Any], callables=(), persistent_load=None,
                 encoding: str = "utf-8"):
        self.read = file.read
        self.readline = file.readline
        self.allowed = allowed
        self.callables = tuple(callables)
        self.encoding = encoding
        self.memo: dict[int, Any] = {}
        if persistent_load is not None:
            self.persistent_load = persistent_load

    def persistent_load(self, pid):
        raise UnpicklingError("unsupported persistent id encountered")

    def find_class(self, module: str, name: str):
        """The object global ``module.name`` stands for, if it is allowed."""
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names, as pickle maps them
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full_path = f"{module}.{name}"
        root = module.partition(".")[0]
        if root in _BLOCKED_MODULES or (module == "builtins" and name in _BLOCKED_BUILTINS):
            raise UnpicklingError(f"Trying to load unsupported GLOBAL {full_path} whose module "
                                  f"{module} is blocked.")
        if full_path in self.allowed:
            return self.allowed[full_path]
        user = _user_allowed_globals()
        if full_path in user:
            return user[full_path]
        raise _unsupported_global(full_path)

    # Membership by identity: ``==`` could run an object's ``__eq__``.
    def _callable_ids(self) -> set[int]:
        return {id(v) for v in self.callables} | {id(v) for v in _user_allowed_globals().values()}

    def load(self):
        """Read one pickled object from the file."""
        try:
            return self._load()
        except _Foreign as wrapper:
            raise wrapper.args[0] from None
        except (IndexError, KeyError, TypeError, ValueError, OverflowError, AttributeError,
                struct.error, UnicodeDecodeError, EOFError) as e:
            raise UnpicklingError(f"the pickle data is corrupt or truncated ({type(e).__name__}: "
                                  f"{e})") from None

    def _load(self):  # noqa: C901 - one branch per opcode, as pickle's own loader
        read, readline = self.read, self.readline
        memo = self.memo
        metastack: list[list] = []
        stack: list = []
        allowed_ids = self._callable_ids()

        def pop_mark() -> list:
            nonlocal stack
            items = stack
            stack = metastack.pop()
            return items

        def read_exact(n: int) -> bytes:
            if n <= _READ_CHUNK:
                data = read(n)
            else:  # a huge length prefix must not allocate more than the file holds
                parts, left = [], n
                while left:
                    part = read(min(left, _READ_CHUNK))
                    if not part:
                        break
                    parts.append(part)
                    left -= len(part)
                data = b"".join(parts)
            if len(data) != n:
                raise EOFError("pickle data was truncated")
            return data

        def read_name() -> str:
            line = readline(_MAX_NAME)
            if not line.endswith(b"\n"):
                raise UnpicklingError("GLOBAL name too long or truncated")
            return line[:-1].decode("utf-8")

        def call(func, *args, **kwargs):
            try:
                return func(*args, **kwargs)
            except Exception as e:
                raise _Foreign(e) from None

        while True:
            key = read(1)
            if not key:
                raise EOFError("pickle data was truncated")
            op = key[0]
            # --- globals, calls and state: the risky operators ---
            if op == 0x63:  # GLOBAL
                module = read_name()
                name = read_name()
                stack.append(self.find_class(module, name))
            elif op == 0x93:  # STACK_GLOBAL
                name = stack.pop()
                module = stack.pop()
                if type(name) is not str or type(module) is not str:
                    raise UnpicklingError("STACK_GLOBAL requires str")
                stack.append(self.find_class(module, name))
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                func = stack[-1]
                if id(func) not in allowed_ids:
                    raise UnpicklingError(f"Trying to call reduce for unrecognized function "
                                          f"{func!r}")
                if type(args) is not tuple:
                    raise UnpicklingError("REDUCE arguments must be a tuple")
                stack[-1] = call(func, *args)
            elif op == 0x81 or op == 0x92:  # NEWOBJ, NEWOBJ_EX
                kwargs = stack.pop() if op == 0x92 else {}
                args = stack.pop()
                cls = stack.pop()
                parameter = self.allowed.get("torch.nn.parameter.Parameter")
                if (type(args) is not tuple or type(kwargs) is not dict
                        or not (cls is parameter or cls is OrderedDict or cls is Counter
                                or any(cls is v for v in _user_allowed_globals().values()))):
                    raise UnpicklingError("Can only create new object for nn.Parameter or classes "
                                          f"allowlisted via `add_safe_globals` but got {cls}")
                if not isinstance(cls, type):
                    raise UnpicklingError(f"NEWOBJ needs a class, got {cls!r}")
                if cls is parameter:
                    stack.append(call(cls, *args, **kwargs))  # validates its arguments
                else:
                    stack.append(call(cls.__new__, cls, *args, **kwargs))
            elif op == 0x62:  # BUILD
                state = stack.pop()
                self._build(stack[-1], state, call)
            elif op == 0x51:  # BINPERSID
                pid = stack.pop()
                if type(pid) is not tuple or not pid or pid[0] not in ("storage", b"storage"):
                    raise UnpicklingError("Only persistent_load of storage is allowed, but got "
                                          f"{pid!r}")
                stack.append(call(self.persistent_load, pid))
            # --- containers ---
            elif op == 0x28:  # MARK
                metastack.append(stack)
                stack = []
            elif op == 0x61:  # APPEND
                item = stack.pop()
                if type(stack[-1]) is not list:
                    raise UnpicklingError(f"Can only append to lists, but got {type(stack[-1])}")
                stack[-1].append(item)
            elif op == 0x65:  # APPENDS
                items = pop_mark()
                if type(stack[-1]) is not list:
                    raise UnpicklingError(f"Can only extend lists, but got {type(stack[-1])}")
                stack[-1].extend(items)
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                k = stack.pop()
                _check_dict(stack[-1], "SETITEM")
                stack[-1][k] = value
            elif op == 0x75:  # SETITEMS
                items = pop_mark()
                _check_dict(stack[-1], "SETITEMS")
                if len(items) % 2:
                    raise UnpicklingError("SETITEMS needs key/value pairs")
                target = stack[-1]
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            elif op == 0x90:  # ADDITEMS
                items = pop_mark()
                if type(stack[-1]) is not set:
                    raise UnpicklingError(f"Can only add items to sets, but got {type(stack[-1])}")
                stack[-1].update(items)
            elif op == 0x91:  # FROZENSET
                items = pop_mark()  # before naming ``stack``: pop_mark rebinds it
                stack.append(frozenset(items))
            elif op == 0x74:  # TUPLE
                items = pop_mark()
                stack.append(tuple(items))
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
            elif op == 0x86:  # TUPLE2
                stack[-2:] = [(stack[-2], stack[-1])]
            elif op == 0x87:  # TUPLE3
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
            elif op == 0x6C:  # LIST
                items = pop_mark()
                stack.append(items)
            elif op == 0x64:  # DICT
                items = pop_mark()
                if len(items) % 2:
                    raise UnpicklingError("DICT needs key/value pairs")
                stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif op == 0x5D:  # EMPTY_LIST
                stack.append([])
            elif op == 0x7D:  # EMPTY_DICT
                stack.append({})
            elif op == 0x8F:  # EMPTY_SET
                stack.append(set())
            # --- scalars ---
            elif op == 0x4E:  # NONE
                stack.append(None)
            elif op == 0x88:  # NEWTRUE
                stack.append(True)
            elif op == 0x89:  # NEWFALSE
                stack.append(False)
            elif op == 0x4A:  # BININT
                stack.append(struct.unpack("<i", read_exact(4))[0])
            elif op == 0x4B:  # BININT1
                stack.append(read_exact(1)[0])
            elif op == 0x4D:  # BININT2
                stack.append(struct.unpack("<H", read_exact(2))[0])
            elif op == 0x8A or op == 0x8B:  # LONG1, LONG4
                n = read_exact(1)[0] if op == 0x8A else struct.unpack("<i", read_exact(4))[0]
                if n < 0 or n > _MAX_LONG_BYTES:
                    raise UnpicklingError(f"LONG of {n} bytes refused")
                stack.append(decode_long(read_exact(n)))
            elif op == 0x47:  # BINFLOAT
                stack.append(struct.unpack(">d", read_exact(8))[0])
            elif op in (0x58, 0x8C, 0x8D):  # BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                n = (struct.unpack("<I", read_exact(4))[0] if op == 0x58 else read_exact(1)[0]
                     if op == 0x8C else struct.unpack("<Q", read_exact(8))[0])
                stack.append(str(read_exact(n), "utf-8", "surrogatepass"))
            elif op == 0x55 or op == 0x54:  # SHORT_BINSTRING, BINSTRING (Python 2 str)
                n = read_exact(1)[0] if op == 0x55 else struct.unpack("<i", read_exact(4))[0]
                if n < 0:
                    raise UnpicklingError("BINSTRING pickle has negative byte count")
                data = read_exact(n)
                stack.append(data if self.encoding == "bytes" else data.decode(self.encoding))
            elif op in (0x43, 0x42, 0x8E, 0x96):  # SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                n = (read_exact(1)[0] if op == 0x43 else struct.unpack("<I", read_exact(4))[0]
                     if op == 0x42 else struct.unpack("<Q", read_exact(8))[0])
                data = read_exact(n)
                stack.append(bytearray(data) if op == 0x96 else data)
            # --- memo and stack ---
            elif op == 0x68:  # BINGET
                stack.append(memo[read_exact(1)[0]])
            elif op == 0x6A:  # LONG_BINGET
                stack.append(memo[struct.unpack("<I", read_exact(4))[0]])
            elif op == 0x71:  # BINPUT
                memo[read_exact(1)[0]] = stack[-1]
            elif op == 0x72:  # LONG_BINPUT
                memo[struct.unpack("<I", read_exact(4))[0]] = stack[-1]
            elif op == 0x94:  # MEMOIZE
                memo[len(memo)] = stack[-1]
            elif op == 0x30:  # POP
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif op == 0x31:  # POP_MARK
                pop_mark()
            elif op == 0x32:  # DUP
                stack.append(stack[-1])
            # --- framing ---
            elif op == 0x80:  # PROTO
                proto = read_exact(1)[0]
                if not 2 <= proto <= 5:
                    raise UnpicklingError(f"unsupported pickle protocol: {proto}")
            elif op == 0x95:  # FRAME: a length prefix; the opcodes follow as usual
                read_exact(8)
            elif op == 0x2E:  # STOP
                if metastack:
                    raise UnpicklingError("pickle data ended inside a MARK")
                return stack.pop()
            else:
                raise UnpicklingError(f"Unsupported operand {op}")

    def _build(self, inst, state, call) -> None:
        """``BUILD``: state onto an OrderedDict (``_metadata``) or an allow-listed class."""
        if type(inst) is OrderedDict:
            if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
                state = state[0]
            if type(state) is not dict or not all(type(k) is str for k in state):
                raise UnpicklingError("the state of an OrderedDict must be a dict of attributes")
            inst.__dict__.update(state)
            return
        cls = type(inst)
        user = _user_allowed_globals()
        if not any(cls is v for v in user.values()):
            raise UnpicklingError("Can only build OrderedDict or types allowlisted via "
                                  f"`add_safe_globals`, but got {cls}")
        setstate = getattr(cls, "__setstate__", None)
        if setstate is not None and setstate is not getattr(object, "__setstate__", None):
            call(setstate, inst, state)
            return
        slotstate = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        if state:
            inst.__dict__.update(state)
        if slotstate:
            for k, v in slotstate.items():
                setattr(inst, k, v)


def _check_dict(target, opcode: str) -> None:
    if type(target) not in (dict, OrderedDict, Counter):
        raise UnpicklingError(f"Can only {opcode} for dict, collections.OrderedDict, "
                              f"collections.Counter, but got {type(target)}")


def loads(data: bytes, *, allowed: dict[str, Any], callables=(), persistent_load=None,
          encoding: str = "utf-8"):
    """Unpickle ``data`` through :class:`Unpickler`."""
    return Unpickler(io.BytesIO(data), allowed=allowed, callables=callables,
                     persistent_load=persistent_load, encoding=encoding).load()
