"""audit leftovers: tuple-form thresholds naming one metric twice are refused, not silently merged."""

from __future__ import annotations

from typing import Any

import pytest

from guardopt.audit import MetricSuite
from guardopt.core.errors import InvalidParameterError


def test_tuple_thresholds_naming_a_metric_twice_are_refused() -> None:
    pairs: Any = (("demographic_parity", 0.05), ("equalized_odds", 0.1), ("demographic_parity", 0.2))
    with pytest.raises(InvalidParameterError, match="'demographic_parity' is named twice") as info:
        MetricSuite(thresholds=pairs)
    assert info.value.param == "thresholds"


def test_tuple_thresholds_naming_each_metric_once_are_kept() -> None:
    pairs: Any = (("demographic_parity", 0.05), ("equalized_odds", 0.1))
    suite = MetricSuite(thresholds=pairs)
    assert dict(suite.thresholds) == {"demographic_parity": 0.05, "equalized_odds": 0.1}
