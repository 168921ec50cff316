"""Input checks shared by the public API.

Every check raises ``ValueError`` whose message names the parameter, the valid range and the value received,
so a reader who mistypes a widget value or a function argument learns what to do.
"""
from __future__ import annotations

import numbers

import numpy as np


def integer(name: str, value, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer in ``[minimum, maximum]``."""
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
    return value


def real(name: str, value, minimum: float = 0.0, strict: bool = False, maximum: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` with ``value >= minimum`` (``>`` if ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number {'>' if strict else '>='} {minimum}, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if (value <= minimum) if strict else (value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def reals(name: str, value, minimum: float = 0.0, strict: bool = False) -> np.ndarray:
    """Like :func:`real` for a scalar or 1-D array; returns a float array (0-d for a scalar)."""
    arr = np.asarray(value, dtype=float) if not isinstance(value, (str, bytes)) else None
    if arr is None or arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"{name} must be a number or a 1-D array of numbers, got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = (arr <= minimum) if strict else (arr < minimum)
    if np.any(bad):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {arr[bad].ravel()[0]}")
    return arr


def vector(name: str, value, d: int | None = None, positive: bool = False) -> np.ndarray:
    """Return a read-only 1-D float copy of ``value``, checking length ``d`` and positivity."""
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of numbers, got {type(value).__name__}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if d is not None and arr.size != d:
        raise ValueError(f"{name} must have length d = {d}, got length {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere (eigenvalues of a covariance), got min {arr.min()}")
    arr.setflags(write=False)
    return arr


def rng(value) -> np.random.Generator:
    """Normalise a seed, ``SeedSequence`` or ``Generator`` (SPEC 7); ``None`` means fresh entropy."""
    try:
        return np.random.default_rng(value)
    except (TypeError, ValueError):
        raise ValueError(f"rng must be None, an int seed >= 0, a SeedSequence or a numpy Generator, got {value!r}") from None
