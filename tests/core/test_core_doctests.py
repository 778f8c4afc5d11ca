"""The examples in the docstrings of the foundation layers run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "guardopt.core.space",
    "guardopt.core.optimizer",
    "guardopt.core.study",
    "guardopt.uncertainty.running",
    "guardopt.uncertainty.bounds",
    "guardopt.guards.scores",
    "guardopt.guards.safety",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
