"""Named tuples that ops return, as ``torch.return_types``: ``ember.max(x, 0).values``.

Each is a tuple (unpacks, indexes and compares as one) with named fields and torch's repr::

    ember.return_types.max(
    values=tensor([3., 2.]),
    indices=tensor([1, 0]))

Built like torch's, from one sequence (``max((values, indices))``), or from the fields in order
(``max(values, indices)``).
"""

from __future__ import annotations

from operator import itemgetter

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "nanmedian", "mode", "cummax",
           "cummin", "aminmax", "frexp", "histogram", "slogdet", "linalg_slogdet", "qr",
           "linalg_qr", "svd", "linalg_svd", "linalg_eig", "linalg_eigh", "linalg_inv_ex",
           "linalg_cholesky_ex", "linalg_solve_ex", "linalg_lstsq", "linalg_lu",
           "linalg_lu_factor", "linalg_lu_factor_ex", "lu_unpack", "triangular_solve"]


class _ReturnType(tuple):
    """Base class: a tuple of ``len(_fields)`` items whose repr names them."""

    __slots__ = ()
    _fields: tuple = ()

    def __new__(cls, *items):
        seq = items[0] if len(items) == 1 else items
        out = tuple.__new__(cls, seq)
        if len(out) != len(cls._fields):
            raise TypeError(f"ember.return_types.{cls.__name__} takes a "
                            f"{len(cls._fields)}-sequence ({len(out)}-sequence given)")
        return out

    @property
    def n_fields(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        body = ",\n".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
        return f"ember.return_types.{type(self).__name__}(\n{body})"

    def __reduce__(self):
        return type(self), (tuple(self),)


class _ValuesIndices(_ReturnType):
    __slots__ = ()
    _fields = ("values", "indices")
    values = property(itemgetter(0), doc="The selected values.")
    indices = property(itemgetter(1), doc="Their positions (int64) along the reduced dim.")


class max(_ValuesIndices):  # noqa: A001 - torch.return_types.max
    """``ember.max(input, dim)``'s result."""

    __slots__ = ()


class min(_ValuesIndices):  # noqa: A001 - torch.return_types.min
    """``ember.min(input, dim)``'s result."""

    __slots__ = ()


class sort(_ValuesIndices):
    """``ember.sort``'s result."""

    __slots__ = ()


class topk(_ValuesIndices):
    """``ember.topk``'s result."""

    __slots__ = ()


class kthvalue(_ValuesIndices):
    """``ember.kthvalue``'s result."""

    __slots__ = ()


class median(_ValuesIndices):
    """``ember.median(input, dim)``'s result."""

    __slots__ = ()


class nanmedian(_ValuesIndices):
    """``ember.nanmedian(input, dim)``'s result."""

    __slots__ = ()


class mode(_ValuesIndices):
    """``ember.mode``'s result."""

    __slots__ = ()


class cummax(_ValuesIndices):
    """``ember.cummax``'s result."""

    __slots__ = ()


class cummin(_ValuesIndices):
    """``ember.cummin``'s result."""

    __slots__ = ()


class aminmax(_ReturnType):
    """``ember.aminmax``'s result."""

    __slots__ = ()
    _fields = ("min", "max")
    min = property(itemgetter(0))
    max = property(itemgetter(1))


class frexp(_ReturnType):
    """``ember.frexp``'s result."""

    __slots__ = ()
    _fields = ("mantissa", "exponent")
    mantissa = property(itemgetter(0))
    exponent = property(itemgetter(1))


class histogram(_ReturnType):
    """``ember.histogram``'s result."""

    __slots__ = ()
    _fields = ("hist", "bin_edges")
    hist = property(itemgetter(0))
    bin_edges = property(itemgetter(1))


class _SignLogabsdet(_ReturnType):
    __slots__ = ()
    _fields = ("sign", "logabsdet")
    sign = property(itemgetter(0))
    logabsdet = property(itemgetter(1))


class slogdet(_SignLogabsdet):
    """``ember.slogdet``'s result."""

    __slots__ = ()


class linalg_slogdet(_SignLogabsdet):
    """``ember.linalg.slogdet``'s result."""

    __slots__ = ()


class _QR(_ReturnType):
    __slots__ = ()
    _fields = ("Q", "R")
    Q = property(itemgetter(0))
    R = property(itemgetter(1))


class qr(_QR):
    """``ember.qr``'s result."""

    __slots__ = ()


class linalg_qr(_QR):
    """``ember.linalg.qr``'s result."""

    __slots__ = ()


class svd(_ReturnType):
    """``ember.svd``'s result (``V``, not its transpose)."""

    __slots__ = ()
    _fields = ("U", "S", "V")
    U = property(itemgetter(0))
    S = property(itemgetter(1))
    V = property(itemgetter(2))


class linalg_svd(_ReturnType):
    """``ember.linalg.svd``'s result (``Vh``, the conjugate transpose of ``V``)."""

    __slots__ = ()
    _fields = ("U", "S", "Vh")
    U = property(itemgetter(0))
    S = property(itemgetter(1))
    Vh = property(itemgetter(2))


class _Eigen(_ReturnType):
    __slots__ = ()
    _fields = ("eigenvalues", "eigenvectors")
    eigenvalues = property(itemgetter(0))
    eigenvectors = property(itemgetter(1))


class linalg_eig(_Eigen):
    """``ember.linalg.eig``'s result."""

    __slots__ = ()


class linalg_eigh(_Eigen):
    """``ember.linalg.eigh``'s result."""

    __slots__ = ()


class linalg_inv_ex(_ReturnType):
    """``ember.linalg.inv_ex``'s result."""

    __slots__ = ()
    _fields = ("inverse", "info")
    inverse = property(itemgetter(0))
    info = property(itemgetter(1))


class linalg_cholesky_ex(_ReturnType):
    """``ember.linalg.cholesky_ex``'s result."""

    __slots__ = ()
    _fields = ("L", "info")
    L = property(itemgetter(0))
    info = property(itemgetter(1))


class linalg_solve_ex(_ReturnType):
    """``ember.linalg.solve_ex``'s result."""

    __slots__ = ()
    _fields = ("result", "info")
    result = property(itemgetter(0))
    info = property(itemgetter(1))


class linalg_lstsq(_ReturnType):
    """``ember.linalg.lstsq``'s result."""

    __slots__ = ()
    _fields = ("solution", "residuals", "rank", "singular_values")
    solution = property(itemgetter(0))
    residuals = property(itemgetter(1))
    rank = property(itemgetter(2))
    singular_values = property(itemgetter(3))


class _PLU(_ReturnType):
    __slots__ = ()
    _fields = ("P", "L", "U")
    P = property(itemgetter(0))
    L = property(itemgetter(1))
    U = property(itemgetter(2))


class linalg_lu(_PLU):
    """``ember.linalg.lu``'s result."""

    __slots__ = ()


class lu_unpack(_PLU):
    """``ember.lu_unpack``'s result."""

    __slots__ = ()


class linalg_lu_factor(_ReturnType):
    """``ember.linalg.lu_factor``'s result."""

    __slots__ = ()
    _fields = ("LU", "pivots")
    LU = property(itemgetter(0))
    pivots = property(itemgetter(1))


class linalg_lu_factor_ex(_ReturnType):
    """``ember.linalg.lu_factor_ex``'s result."""

    __slots__ = ()
    _fields = ("LU", "pivots", "info")
    LU = property(itemgetter(0))
    pivots = property(itemgetter(1))
    info = property(itemgetter(2))


class triangular_solve(_ReturnType):
    """``ember.triangular_solve``'s result."""

    __slots__ = ()
    _fields = ("solution", "cloned_coefficient")
    solution = property(itemgetter(0))
    cloned_coefficient = property(itemgetter(1))
