"""The `guardopt.problems` package: lazy re-exports of every problems module's public names."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import guardopt.problems as problems


def test_every_exported_name_resolves() -> None:
    names = problems.__all__
    assert names == sorted(set(names)) and len(names) > 50
    for name in names:
        assert getattr(problems, name) is not None, name
    assert set(names) <= set(dir(problems))


def test_every_problems_module_is_listed() -> None:
    found = {m.name for m in pkgutil.iter_modules(problems.__path__) if not m.name.startswith("_")}
    assert found == set(problems._MODULES)


def test_exports_come_from_their_modules() -> None:
    for mod_name in problems._MODULES:
        module = importlib.import_module(f"guardopt.problems.{mod_name}")
        for name in problems._public_names(module):
            owner = problems._OWNERS.get(name, mod_name)
            expected = getattr(importlib.import_module(f"guardopt.problems.{owner}"), name)
            assert getattr(problems, name) is expected, (mod_name, name)


def test_clashes_are_resolved_explicitly() -> None:
    from guardopt.problems import credit, fairness, synthetic

    assert problems.load_german_credit is credit.load_german_credit
    assert problems.load_german_credit_groups is fairness.load_german_credit_groups
    assert fairness.load_german_credit is fairness.load_german_credit_groups  # former name kept
    assert problems.ackley is synthetic.ackley


def test_unknown_name_raises_attribute_error() -> None:
    try:
        problems.no_such_problem  # noqa: B018
    except AttributeError as err:
        assert "no_such_problem" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_the_package_is_cheap() -> None:
    code = (
        "import sys, guardopt.problems; "
        "heavy = [m for m in ('sklearn', 'torch', 'scipy.sparse', 'scipy.stats', 'guardopt.problems.fairness') "
        "if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_resolving_names_does_not_import_sklearn_or_torch() -> None:
    code = (
        "import sys, guardopt.problems as p; p.__all__; p.load_german_credit_groups; "
        "print(','.join(m for m in ('sklearn', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
