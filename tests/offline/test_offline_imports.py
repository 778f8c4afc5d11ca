from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_families_do_not_import_torch() -> None:
    code = ("import guardopt, guardopt.core, guardopt.uncertainty, guardopt.guards, guardopt.bandits, "
            "guardopt.certify; import sys; assert 'torch' not in sys.modules")
    res = _run(code)
    assert res.returncode == 0, res.stderr


def test_offline_package_and_numpy_parts_import_torch_lazily() -> None:
    code = ("import guardopt.offline, guardopt.offline.bon, guardopt.offline.ensembles, "
            "guardopt.problems.offline_tasks, guardopt.problems.gold_reward; import sys; "
            "from guardopt.offline import best_of_n, combine, PPOConfig, ppo_optimize, ensemble_reward; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "from guardopt.offline import IgniteConfig; assert 'torch' in sys.modules")
    res = _run(code)
    assert res.returncode == 0, res.stderr
