"""Discovery of paper modules: broken modules are reported, never hide the others."""

from __future__ import annotations

import sys
import textwrap

import pytest
from reproduce_toys import BROKEN, TOY

from guardopt.reproduce.registry import UnknownReproductionError, discover, from_reproductions


def test_discovers_safety_test():
    registry = discover()
    assert "safety-test" in registry.names
    assert registry.modules["safety-test"] == "guardopt.reproduce.papers.safety_test"


def test_broken_module_is_reported_and_others_load(tmp_path, monkeypatch):
    pkg = tmp_path / "toy_papers_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("from reproduce_toys import TOY as REPRODUCTION\n")
    (pkg / "bad.py").write_text("raise RuntimeError('boom at import')\n")
    (pkg / "wrong.py").write_text("REPRODUCTION = 42\n")
    (pkg / "helper.py").write_text(textwrap.dedent("X = 1\n"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = discover("toy_papers_pkg")
    finally:
        for name in [m for m in sys.modules if m.startswith("toy_papers_pkg")]:
            del sys.modules[name]
    assert registry.names == ["toy"]
    assert "boom at import" in registry.errors["toy_papers_pkg.bad"]
    assert "not a guardopt.reproduce.Reproduction" in registry.errors["toy_papers_pkg.wrong"]
    assert "toy_papers_pkg.helper" not in registry.errors


def test_unknown_names_list_valid_ones():
    registry = from_reproductions([TOY, BROKEN])
    assert [r.name for r in registry.select(["toy-broken", "toy", "toy"])] == ["toy-broken", "toy"]
    with pytest.raises(UnknownReproductionError, match=r"nope.*Valid names: toy, toy-broken"):
        registry.select(["toy", "nope"])


def test_duplicate_name_is_an_error():
    registry = from_reproductions([TOY])
    registry.add(TOY, "some.module")
    assert "already used" in registry.errors["some.module"]
