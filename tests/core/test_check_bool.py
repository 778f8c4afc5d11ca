"""`check_bool`: the one check behind every True/False option."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core import InvalidParameterError, check_bool


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_])
def test_booleans_pass_as_python_bools(value: object) -> None:
    out = check_bool(value, "flag", "Owner")
    assert out is bool(value)


@pytest.mark.parametrize("value", ["no", "True", 1, 0, 1.0, None, np.array([True]), [True]])
def test_truthy_stand_ins_are_refused_by_name(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="The 'flag' parameter of Owner must be True or False"):
        check_bool(value, "flag", "Owner")
