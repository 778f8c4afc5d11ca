"""Test helpers shipped with guardopt: the optimizer conformance kit."""

from guardopt.testing.conformance import OptimizerChecks, check_optimizer, default_objective, default_space

__all__ = ["OptimizerChecks", "check_optimizer", "default_objective", "default_space"]
