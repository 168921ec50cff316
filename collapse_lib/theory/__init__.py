"""Closed forms for model collapse in regression: one function per result (the library reference maps each to a chapter).

Every function here is pure and cheap (no simulation). Symbols follow the book: ``d`` features, ``T`` downstream
samples, ``T0`` samples per synthetic generation, ``n`` generations, ``sigma`` / ``sigma0`` the downstream / generator
noise levels, ``lam`` the downstream ridge penalty with the ``1/T`` normalisation.

Outside a result's domain of validity (the domain stated with each result) a ``ValueError`` says which parameter is out of range.
"""
from ._gaussian import gaussian_chain_log_variance_mean, gaussian_chain_mean_drift, gaussian_chain_variance_mean
from ._mixing import (accumulate_fresh_error, fresh_mix_risk, gaussian_schedule_drift, gaussian_schedule_log_variance,
                      golden_ratio_weight, mixed_data_error, mixing_floor, schedule_chain_error)
from ._ols import effective_noise_variance, ols_chain_error, ols_test_error, replace_accumulate_error
from ._ridge import (ErrorTerms, df, effective_regularization, overparam_chain_error, overparam_ridge_test_error,
                     ridge_test_error, ridge_test_error_isotropic)
from ._scaling import (ScalingExponents, SlopeFit, error_exponent, fit_slope, scaling_curve, scaling_exponents,
                       slope_map)

__all__ = [
    "ErrorTerms", "ols_test_error", "ols_chain_error", "effective_noise_variance", "df", "effective_regularization", "ridge_test_error",
    "ridge_test_error_isotropic", "overparam_chain_error", "overparam_ridge_test_error", "replace_accumulate_error",
    "gaussian_chain_mean_drift", "gaussian_chain_variance_mean", "gaussian_chain_log_variance_mean",
    "ScalingExponents", "SlopeFit", "scaling_exponents", "error_exponent", "fit_slope", "scaling_curve", "slope_map",
    "accumulate_fresh_error", "mixing_floor", "mixed_data_error", "golden_ratio_weight", "fresh_mix_risk",
    "schedule_chain_error", "gaussian_schedule_drift", "gaussian_schedule_log_variance",
]

