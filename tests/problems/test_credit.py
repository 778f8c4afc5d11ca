"""German Credit loading: shapes, encodings, group counts (known from the UCI file)."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InputDataError
from guardopt.problems.credit import load_german_credit, read_german_rows


def test_raw_file():
    rows = read_german_rows()
    assert len(rows) == 1000
    assert all(len(r) == 21 for r in rows)


def test_encoding_and_groups():
    d = load_german_credit()
    assert d.X.shape == (1000, 56)
    assert len(d.feature_names) == 56
    assert d.y.sum() == 700  # class 1 (good) = 700 rows
    assert d.sex.sum() == 310  # A92 = 310, A95 = 0
    assert d.young.sum() == int((d.age <= 25).sum()) == 190
    assert not any(n.startswith(("personal_status_sex", "age")) for n in d.feature_names)
    # Each categorical attribute's one-hot block sums to one per row.
    status = [i for i, n in enumerate(d.feature_names) if n.startswith("status=")]
    assert len(status) == 4
    np.testing.assert_array_equal(d.X[:, status].sum(axis=1), 1.0)
    j = d.feature_names.index("duration")
    assert d.X[:, j].mean() == pytest.approx(0.0, abs=1e-12)
    assert d.X[:, j].std() == pytest.approx(1.0)
    assert np.array_equal(d.group("sex"), d.sex) and np.array_equal(d.group("age"), d.young)
    with pytest.raises(InputDataError):
        d.group("race")


def test_options():
    d = load_german_credit(include_group_columns=True, standardize=False)
    assert d.X.shape == (1000, 61)
    j = d.feature_names.index("age")
    np.testing.assert_array_equal(d.X[:, j], d.age)
    assert d.X[0, d.feature_names.index("credit_amount")] == 1169.0
