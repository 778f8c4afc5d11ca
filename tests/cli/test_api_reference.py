"""docs/api.md is generated from the docstrings and must be up to date."""

from __future__ import annotations

import importlib
from pathlib import Path

from guardopt.cli.api_reference import PACKAGES, generate

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_api_reference_is_up_to_date_and_lists_every_public_name_once():
    text = generate()
    for package in PACKAGES:
        for name in getattr(importlib.import_module(package), "__all__", []):
            if not name.startswith("__"):
                assert text.count(f"### `{package}.{name}`\n") == 1, f"{package}.{name}"
    assert " at 0x" not in text and text.count("```") % 2 == 0  # deterministic, fences balanced
    assert DOC.read_text(encoding="utf-8") == text, (
        "docs/api.md is out of date: run `PYTHONPATH=src python -m guardopt.cli.api_reference` from the root")
