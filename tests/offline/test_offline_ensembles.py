from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.guards import uncertainty_weighted, worst_case
from guardopt.offline.ensembles import combine

# Three members scoring two candidates.
SCORES = np.array([[1.0, 4.0], [2.0, 0.0], [3.0, 2.0]])


def test_hand_computed_combiners() -> None:
    np.testing.assert_allclose(combine(SCORES, "mean"), [2.0, 2.0])
    np.testing.assert_allclose(combine(SCORES, "wco"), [1.0, 0.0])
    # Population variances: candidate 0 -> 2/3, candidate 1 -> 8/3.
    np.testing.assert_allclose(combine(SCORES, "uwo", lam=0.5), [2.0 - 1 / 3, 2.0 - 4 / 3])
    np.testing.assert_allclose(combine(SCORES, "single", member=1), [2.0, 0.0])
    np.testing.assert_allclose(combine(SCORES.T, "wco", axis=1), [1.0, 0.0])


def test_nan_member_fails_closed() -> None:
    s = SCORES.copy()
    s[0, 0] = np.nan
    assert np.isnan(combine(s, "wco")[0])
    assert np.isnan(combine(s, "uwo")[0])


def test_bad_combiner() -> None:
    with pytest.raises(InvalidParameterError, match="combiner"):
        combine(SCORES, "median")


def test_torch_guards_agree_with_numpy_guards() -> None:
    torch = pytest.importorskip("torch")
    from guardopt.offline.search import ensemble_score, torch_uncertainty_weighted, torch_worst_case

    rng = np.random.default_rng(0)
    s = rng.normal(size=(5, 7))
    t = torch.as_tensor(s)
    np.testing.assert_allclose(torch_worst_case(t).numpy(), worst_case(s))
    np.testing.assert_allclose(torch_uncertainty_weighted(t, 0.7).numpy(), uncertainty_weighted(s, 0.7))
    np.testing.assert_allclose(torch_worst_case(t.T, axis=1).numpy(), worst_case(s.T, axis=1))

    class Const(torch.nn.Module):
        def __init__(self, c: float) -> None:
            super().__init__()
            self.c = c

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.c * x.sum(dim=1)

    models = [Const(1.0), Const(2.0), Const(-1.0)]
    x = torch.ones(2, 3)
    member = np.array([[3.0, 3.0], [6.0, 6.0], [-3.0, -3.0]])
    np.testing.assert_allclose(ensemble_score(models, "wco")(x).numpy(), worst_case(member))
    np.testing.assert_allclose(ensemble_score(models, "uwo", 0.5)(x).numpy(), uncertainty_weighted(member, 0.5))
