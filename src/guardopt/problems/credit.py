"""German Credit (UCI Statlog) as a classification task with sex and age groups.

The raw file ``problems/data/german.data`` (1,000 applicants, 20 attributes, class 1 = good credit,
2 = bad) is decoded into a numeric design matrix:

* categorical attributes (UCI codes ``A11``, ``A34``, ...) become one-hot columns, one per code
  that occurs in the file (no reference level is dropped: the classifiers using it are L2-regularised);
* numeric attributes (duration, credit amount, installment rate, residence since, age, existing
  credits, people liable) are standardised to mean 0 and standard deviation 1 over the 1,000 rows.

Labels: ``y = 1`` for good credit (approve), ``0`` for bad. Groups: ``sex`` is 1 for female
(``personal_status_sex`` in {A92, A95}) and 0 for male (A91, A93, A94); ``young`` is 1 for
``age <= 25``. By default the attributes that define the groups (``personal_status_sex`` and
``age``) are left out of the features, so a classifier cannot use the group directly.

This module owns the parsing and encoding of ``german.data``; the closed-loop fairness
environments (`guardopt.problems.fairness.load_german_credit_groups`) build on `load_german_credit`.

Reference: UCI Machine Learning Repository, Statlog (German Credit Data), Hofmann (1994), CC BY 4.0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from guardopt.core.errors import InputDataError, check_choice

COLUMNS: tuple[str, ...] = (
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings", "employment",
    "installment_rate", "personal_status_sex", "other_debtors", "residence_since", "property", "age",
    "other_installment_plans", "housing", "existing_credits", "job", "people_liable", "telephone",
    "foreign_worker", "class",
)
NUMERIC: frozenset[str] = frozenset({
    "duration", "credit_amount", "installment_rate", "residence_since", "age", "existing_credits",
    "people_liable",
})
FEMALE_CODES: frozenset[str] = frozenset({"A92", "A95"})
GROUP_COLUMNS: tuple[str, ...] = ("personal_status_sex", "age")
# The raw attribute behind each group: ``"sex"`` comes from personal_status_sex, ``"age"`` from age.
GROUP_ATTRIBUTES: dict[str, str] = {"sex": "personal_status_sex", "age": "age"}

__all__ = [
    "COLUMNS",
    "FEMALE_CODES",
    "GROUP_ATTRIBUTES",
    "GROUP_COLUMNS",
    "NUMERIC",
    "CreditData",
    "german_value_maps",
    "load_german_credit",
    "read_german_rows",
]


@dataclass(frozen=True)
class CreditData:
    """German Credit, encoded.

    Attributes:
        X: Features, shape ``(n, d)`` float.
        y: Labels, shape ``(n,)`` int, 1 = good credit.
        sex: Shape ``(n,)`` int, 1 = female.
        young: Shape ``(n,)`` int, 1 = age <= 25.
        age: Shape ``(n,)`` float, age in years (raw).
        feature_names: ``d`` names (``"duration"`` or ``"status=A11"``).
    """

    X: np.ndarray
    y: np.ndarray
    sex: np.ndarray
    young: np.ndarray
    age: np.ndarray
    feature_names: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of applicants."""
        return int(self.y.shape[0])

    def group(self, attribute: str) -> np.ndarray:
        """The 0/1 group vector for ``"sex"`` (1 = female) or ``"age"`` (1 = age <= 25)."""
        if attribute == "sex":
            return self.sex
        if attribute == "age":
            return self.young
        raise InputDataError(f"German Credit groups are 'sex' or 'age'. Got {attribute!r} instead.")

    def features_without(self, attribute: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """The features less the columns that encode one raw attribute.

        Args:
            attribute: A name from `COLUMNS` (``"age"``, ``"personal_status_sex"``, ...).

        Returns:
            ``(X, feature_names)`` with the attribute's column (numeric) or one-hot block dropped;
            ``X`` has shape ``(n, d - k)`` and is C-contiguous like `X` (column selection alone
            would give a Fortran-ordered copy, and BLAS sums in another order on it).

        Raises:
            InvalidParameterError: ``attribute`` is not one of the 20 attributes in `COLUMNS`.
        """
        check_choice(attribute, "attribute", "CreditData.features_without", COLUMNS[:-1])
        keep = [j for j, name in enumerate(self.feature_names) if name.split("=", 1)[0] != attribute]
        return np.ascontiguousarray(self.X[:, keep]), tuple(self.feature_names[j] for j in keep)


def read_german_rows() -> list[list[str]]:
    """The raw rows of ``german.data`` as strings, 1,000 rows of 21 fields."""
    text = resources.files("guardopt.problems").joinpath("data", "german.data").read_text()
    rows = [line.split() for line in text.splitlines() if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != len(COLUMNS)]
    if bad:
        raise InputDataError(f"german.data row {bad[0]} has {len(rows[bad[0]])} fields, expected {len(COLUMNS)}.")
    return rows


def load_german_credit(include_group_columns: bool = False, standardize: bool = True) -> CreditData:
    """Load and encode German Credit.

    Args:
        include_group_columns: Keep ``personal_status_sex`` and ``age`` among the features.
        standardize: Standardise the numeric columns (mean 0, sd 1 over the 1,000 rows).

    Returns:
        A `CreditData` with ``X`` of shape ``(1000, d)``; ``d = 56`` with the default options
        (61 with the group columns).
    """
    rows = read_german_rows()
    cols = {name: [r[j] for r in rows] for j, name in enumerate(COLUMNS)}
    feats: list[np.ndarray] = []
    names: list[str] = []
    for name in COLUMNS[:-1]:
        if name in GROUP_COLUMNS and not include_group_columns:
            continue
        values = cols[name]
        if name in NUMERIC:
            x = np.asarray(values, dtype=float)
            if standardize:
                x = (x - x.mean()) / x.std()
            feats.append(x)
            names.append(name)
        else:
            for code in sorted(set(values)):
                feats.append(np.asarray([v == code for v in values], dtype=float))
                names.append(f"{name}={code}")
    X = np.column_stack(feats)
    y = (np.asarray(cols["class"], dtype=int) == 1).astype(int)
    sex = np.asarray([v in FEMALE_CODES for v in cols["personal_status_sex"]], dtype=int)
    age = np.asarray(cols["age"], dtype=float)
    young = (age <= 25).astype(int)
    return CreditData(X, y, sex, young, age, tuple(names))


def german_value_maps() -> dict[str, dict[str, str]]:
    """The meanings of German Credit's symbolic codes (``A11`` -> ``"... < 0 DM"``, ...)."""
    text = resources.files("guardopt.problems").joinpath("data", "german_values_maps.json").read_text()
    data: dict[str, dict[str, str]] = json.loads(text)
    return data
