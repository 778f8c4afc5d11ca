from __future__ import annotations

import subprocess
import sys


def test_certify_imports_no_heavy_packages() -> None:
    code = ("import sys, guardopt.certify, guardopt.problems.credit; "
            "print(','.join(m for m in ('torch', 'pandas', 'fairlearn', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
