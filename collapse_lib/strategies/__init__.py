"""Choosing the ridge penalty from data (result R6): GCV on the synthetic training set, validation on a small clean
hold-out, and a Monte Carlo that compares them with the theory-based strategies of
:mod:`collapse_lib.regularization` on the same training sets.

The core (:mod:`._spectral`) works on one eigendecomposition of a training set's Gram or kernel matrix and evaluates
every penalty of a grid at once, so the same functions serve linear ridge and kernel ridge.
"""
from ._kernel_mc import KERNEL_THEORY_STRATEGIES, simulate_kernel_strategies
from ._linear_mc import (THEORY_STRATEGIES, StrategyResult, downstream_samples, holdout_residuals,
                         simulate_strategies, synthetic_teacher)
from ._spectral import (Spectrum, choose, gcv_curve, holdout_curves, kernel_predictions, kernel_spectrum, lam_grid,
                        linear_spectrum, linear_weights, ridge_coefficients, spectrum_from_eigh)

__all__ = ["Spectrum", "lam_grid", "gcv_curve", "ridge_coefficients", "holdout_curves", "choose",
           "linear_spectrum", "kernel_spectrum", "spectrum_from_eigh", "linear_weights", "kernel_predictions",
           "synthetic_teacher", "downstream_samples", "holdout_residuals", "StrategyResult", "simulate_strategies",
           "THEORY_STRATEGIES", "simulate_kernel_strategies", "KERNEL_THEORY_STRATEGIES"]
