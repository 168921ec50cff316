"""Shared helpers for the library tests.

Statistical tests compare a Monte-Carlo mean with a prediction through ``|mc - theory| <= z * se + rel * |theory|``:
``z = 4`` standard errors always, plus a small relative tolerance only where the formula is asymptotic (R3 and the
ridge form of R4). Every test uses a fixed seed, so it is reproducible; the bounds are what could make it fail.
"""
from __future__ import annotations

import numpy as np
import pytest

from threadpoolctl import threadpool_limits

# One BLAS thread per pytest-xdist worker: the suite runs with -n 2 on 2 cores, oversubscription only slows it.
threadpool_limits(1)

from mc_checks import Z, assert_mc_close, assert_same_mean  # noqa: E402,F401  (re-exported for the fixtures)


@pytest.fixture
def mc_close():
    return assert_mc_close


@pytest.fixture
def same_mean():
    return assert_same_mean
