"""Input checks shared by the public API.

Every check raises ``ValueError`` whose message names the parameter, the valid range and the value received,
so a reader who mistypes a widget value or a function argument learns what to do.

Numbers must be real: strings, complex values and booleans are refused everywhere (a complex array is never
silently truncated to its real part). Magnitudes are bounded where float64 would otherwise overflow:

* integers (sample sizes, generations, dimensions) are at most :data:`MAX_INT` ``= 2**53``, the largest range in
  which every integer is exact in float64;
* noise standard deviations and teacher norms are at most :data:`MAX_SCALE` ``= 1e50`` (:func:`scale`);
* eigenvalues of a covariance lie in ``[EIG_MIN, EIG_MAX] = [1e-100, 1e100]`` (:func:`eigenvalues`);
* positive ridge penalties are at least :data:`LAM_MIN` ``= 1e-300`` (:func:`penalties`; smaller ones are
  sub-normal), and at most :data:`LAM_MAX_SIMULATION` ``= 1e250`` in a simulation; the closed forms accept any
  finite penalty;
* ``||w0||_Sigma^2 <= MAX_SCALE2 = 1e100`` (checked by :class:`~collapse_lib.problem.Problem`).

Within these ranges the closed forms and the simulations stay finite (``tests/test_edge_cases.py`` evaluates them at
the corners): a noise deviation divided by a square-rooted eigenvalue is at most ``1e50 / 1e-50 = 1e100``, its
square ``1e200``, leaving a factor ``1e100`` for sums over ``d`` coordinates, ``n`` generations and heavy-tailed OLS
draws; test errors stay far enough below ``1e154`` that their squares (in a standard error) are finite.
:func:`finite_result` is the last guard of a closed form whose true value exceeds float64 (a ridge error that
diverges as ``lam -> 0`` at ``T = d``): a ``ValueError``, never a silent ``inf``.
"""
from __future__ import annotations

import numbers

import numpy as np

#: Largest integer accepted by :func:`integer` unless a smaller ``maximum`` is given (``2**53``: exact in float64).
MAX_INT = 2**53
#: Largest noise standard deviation or teacher norm (:func:`scale`); its square ``1e100`` leaves ample headroom.
MAX_SCALE = 1e50
#: Largest squared norm (``MAX_SCALE**2``), e.g. ``||w0||^2``.
MAX_SCALE2 = 1e100
#: Smallest positive ridge penalty (:func:`penalties`): below it float64 is sub-normal and loses its precision.
LAM_MIN = 1e-300
#: Largest penalty a simulation accepts: its solvers form ``T lam`` with ``T <= 2**53 ~ 1e16`` samples.
LAM_MAX_SIMULATION = 1e250
#: Range of covariance eigenvalues (:func:`eigenvalues`); square roots stay within ``[1e-50, 1e50]``.
EIG_MIN, EIG_MAX = 1e-100, 1e100


def integer(name: str, value, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer in ``[minimum, maximum]``.

    ``maximum = None`` means :data:`MAX_INT` (``2**53``): larger integers are not exact in float64 and overflow
    the formulas they enter.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if (not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real) and np.isfinite(value)
                and float(value).is_integer()):
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        rng = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
    if maximum is None and value > MAX_INT:
        digits = len(str(value))
        shown = str(value) if digits <= 20 else f"an integer of {digits} digits"
        raise ValueError(f"{name} must be an integer in [{minimum}, 2**53 = {MAX_INT}] (larger integers are not "
                         f"exact in floating point), got {shown}")
    return value


def real(name: str, value, minimum: float = 0.0, strict: bool = False, maximum: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` with ``value >= minimum`` (``>`` if ``strict``) and ``<= maximum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number {'>' if strict else '>='} {minimum}, got {value!r}")
    try:
        value = float(value)
    except OverflowError:                       # an int beyond the float range
        raise ValueError(f"{name} must be finite, got an integer of {len(str(abs(value)))} digits") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if (value <= minimum) if strict else (value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def scale(name: str, value, strict: bool = False) -> float:
    """A noise standard deviation or a norm: a real number in ``[0, MAX_SCALE] = [0, 1e50]`` (``> 0`` if ``strict``).

    The bound keeps squares and their sums over coordinates, generations and samples finite in float64.
    """
    value = real(name, value, strict=strict)
    if value > MAX_SCALE:
        raise ValueError(f"{name} must be in [0, {MAX_SCALE:g}] (larger values overflow float64 once squared and "
                         f"accumulated), got {value:g}")
    return value


def _float_array(name: str, value, what: str) -> np.ndarray:
    """``value`` as a float array, refusing strings, booleans, complex numbers and other non-real objects."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be {what}, got the string {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):             # ragged nesting
        raise ValueError(f"{name} must be {what}, got {type(value).__name__}") from None
    kind = arr.dtype.kind
    if kind == "O":
        flat = arr.ravel().tolist()
        if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in flat):
            bad = next(v for v in flat if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_)))
            raise ValueError(f"{name} must be {what}, got an element {bad!r}")
        try:
            return np.array(flat, dtype=float).reshape(arr.shape)
        except OverflowError:
            raise ValueError(f"{name} must be finite, got an integer beyond the float range") from None
    if kind not in "iuf":
        kinds = {"c": "complex numbers", "b": "booleans", "U": "strings", "S": "strings"}
        raise ValueError(f"{name} must be {what}, got {kinds.get(kind, arr.dtype.name)}: {value!r}")
    return arr.astype(float)


def reals(name: str, value, minimum: float = 0.0, strict: bool = False, maximum: float | None = None) -> np.ndarray:
    """Like :func:`real` for a scalar or 1-D array; returns a float array (0-d for a scalar)."""
    arr = _float_array(name, value, "a real number or a 1-D array of real numbers")
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a 1-D array of numbers, got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = (arr <= minimum) if strict else (arr < minimum)
    if np.any(bad):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {arr[bad].ravel()[0]}")
    if maximum is not None and np.any(arr > maximum):
        raise ValueError(f"{name} must be <= {maximum:g}, got {arr.max():g}")
    return arr


def penalties(name: str, value, maximum: float | None = None) -> np.ndarray:
    """Ridge penalties: like :func:`reals` (``>= 0``), and every positive entry ``>= LAM_MIN = 1e-300``."""
    arr = reals(name, value, maximum=maximum)
    tiny = (arr > 0) & (arr < LAM_MIN)
    if np.any(tiny):
        raise ValueError(f"{name} must be 0 or >= {LAM_MIN:g} (smaller penalties are sub-normal in float64 and "
                         f"lose their precision), got {arr[tiny].ravel()[0]:g}")
    return arr


def vector(name: str, value, d: int | None = None, positive: bool = False, maximum_abs: float | None = None
           ) -> np.ndarray:
    """Return a read-only 1-D float copy of ``value``; check its length ``d``, positivity, ``|value| <= maximum_abs``."""
    arr = _float_array(name, value, "a 1-D array of real numbers")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if d is not None and arr.size != d:
        raise ValueError(f"{name} must have length d = {d}, got length {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere (eigenvalues of a covariance), got min {arr.min()}")
    if maximum_abs is not None and np.any(np.abs(arr) > maximum_abs):
        raise ValueError(f"{name} must have every |entry| <= {maximum_abs:g}, got {np.abs(arr).max():g}")
    arr.setflags(write=False)
    return arr


def eigenvalues(name: str, value, d: int | None = None) -> np.ndarray:
    """Covariance eigenvalues: a 1-D array with every entry in ``[EIG_MIN, EIG_MAX] = [1e-100, 1e100]``.

    Below ``1e-100`` (sub-normal values included) the square-root scalings of the simulations overflow once
    squared; above ``1e100`` traces and Gram matrices do.
    """
    arr = vector(name, value, d=d, positive=True)
    lo, hi = arr.min(), arr.max()
    if lo < EIG_MIN or hi > EIG_MAX:
        raise ValueError(f"{name} must lie in [{EIG_MIN:g}, {EIG_MAX:g}] (eigenvalues of a covariance; outside it "
                         f"float64 overflows once they are square-rooted and squared), got min {lo:g}, max {hi:g}")
    return arr


def finite_result(what: str, values, hint: str):
    """Raise ``ValueError`` if any of ``values`` is not finite: ``what`` overflowed float64; ``hint`` says which
    parameter to move and where. Returns ``values`` unchanged otherwise."""
    for v in values:
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{what} is not representable in float64 (it exceeds 1.8e308) for these inputs: {hint}")
    return values


def rng(value) -> np.random.Generator:
    """Normalise a seed, ``SeedSequence`` or ``Generator`` (SPEC 7); ``None`` means fresh entropy."""
    try:
        return np.random.default_rng(value)
    except (TypeError, ValueError):
        raise ValueError(f"rng must be None, an int seed >= 0, a SeedSequence or a numpy Generator, got {value!r}") from None



def real_array(name: str, value, what: str = "an array of real numbers") -> np.ndarray:
    """``value`` as a float array of any shape, refusing strings, booleans and complex numbers (never truncated).

    Finiteness and shape are left to the caller. The message names the refused kind without printing the array.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iufO":
        kinds = {"c": "complex numbers", "b": "booleans", "U": "strings", "S": "strings"}
        raise ValueError(f"{name} must be {what}, got {kinds.get(value.dtype.kind, value.dtype.name)} "
                         f"(dtype {value.dtype}, shape {value.shape})")
    return _float_array(name, value, what)
