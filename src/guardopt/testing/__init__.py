"""Test helpers shipped with guardopt: the optimizer conformance kit.

`guardopt.testing.contracts` holds the property-test helpers of the fail-closed contract
(hypothesis strategies for adversarial values, `assert_contract`); it needs hypothesis, so it is
imported explicitly and never from here.
"""

from guardopt.testing.conformance import OptimizerChecks, check_optimizer, default_objective, default_space

__all__ = ["OptimizerChecks", "check_optimizer", "default_objective", "default_space"]
