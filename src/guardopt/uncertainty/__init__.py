"""Layer 2: estimates with their uncertainty, and the ways to make one."""

from guardopt.uncertainty.bounds import (
    bootstrap,
    check_delta,
    clopper_pearson,
    empirical_bernstein,
    empirical_bernstein_radius,
    ensemble,
    hoeffding,
    hoeffding_radius,
    normal,
    normal_radius,
    student_t,
    student_t_radius,
)
from guardopt.uncertainty.estimate import Estimate, Side, side_deltas
from guardopt.uncertainty.running import RunningStats

__all__ = [
    "Estimate",
    "RunningStats",
    "Side",
    "bootstrap",
    "check_delta",
    "clopper_pearson",
    "empirical_bernstein",
    "empirical_bernstein_radius",
    "ensemble",
    "hoeffding",
    "hoeffding_radius",
    "normal",
    "normal_radius",
    "side_deltas",
    "student_t",
    "student_t_radius",
]
