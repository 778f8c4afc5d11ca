"""Importing the core layers stays light: no torch, pandas, ray or dask, and no global RNG change."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "pandas", "ray", "dask", "distributed")


def test_core_layers_import_no_heavy_package() -> None:
    code = (
        "import sys, numpy as np\n"
        "state = np.random.get_state()[1].copy()\n"
        "import guardopt, guardopt.core, guardopt.uncertainty, guardopt.guards, guardopt.testing\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert (np.random.get_state()[1] == state).all(), 'global numpy RNG state changed'\n"
        "import logging; assert not logging.getLogger().handlers, 'guardopt configured root logging'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
