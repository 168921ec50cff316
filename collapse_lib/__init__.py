"""collapse_lib: exact theory and fast simulation of model collapse in regression.

The library behind the book *Model Collapse, Demystified*. Main entry points::

    from collapse_lib import Problem, isotropic, power_law, theory, simulate
"""
from . import theory
from .problem import Problem, isotropic, power_law
from .regularization import optimal_lambda
from .simulate import SimulationResult, simulate, simulate_gaussian_chain, simulate_generations

__all__ = ["Problem", "isotropic", "power_law", "theory", "simulate", "simulate_generations", "simulate_gaussian_chain",
           "SimulationResult", "optimal_lambda"]
__version__ = "0.1.0"
