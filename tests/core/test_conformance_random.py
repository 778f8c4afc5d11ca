"""RandomSearch passes the conformance kit that every online optimizer must pass."""

from guardopt.core import RandomSearch
from guardopt.testing import check_optimizer


def test_random_search_conforms() -> None:
    check_optimizer(lambda seed: RandomSearch(seed=seed))


def test_random_search_with_sobol_conforms() -> None:
    check_optimizer(lambda seed: RandomSearch(seed=seed, n_sobol=4))
