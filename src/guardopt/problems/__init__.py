"""Layer 5: benchmark problems, data sets and environments that the methods are run on.

What lives here (one module per kind of problem):

* `constrained_quadratics`: constrained quadratic programs (Lion-K toys).
* `credit`: UCI German Credit, parsed and encoded (the only parser of ``german.data``).
* `fairness`: closed-loop fair threshold environments (synthetic, German Credit, COMPAS) and the
  COMPAS loader.
* `gold_reward`: the gold-reward / preference-data setup of the reward-ensemble experiments.
* `linear_systems`: shifted Laplacians and SOR / SSOR-PCG solves (Learning to Relax).
* `offline_tasks`: offline black-box optimization tasks (continuous landscapes, DNA).
* `sea`: the SEA concept-drift stream.
* `streams`: arm-mean instances of the streaming-bandit experiments.
* `synthetic`: synthetic test functions for Bayesian optimization (Branin, Hartmann, ...).
* `linear_sem`: random linear-SEM causal bandits with soft interventions and a change event.
* `knapsack`: two-stage robust knapsack instances and their exact evaluator (Neur2RO).
* `bilevel_toys`: bilevel toys with closed-form hyper-objectives and ridge hyperparameter learning.
* `numeric_programs`: random numeric programs with textual feedback (Trace / OPTO).
* `audit_tasks`: synthetic data sets of the audit reproductions (multiplicity, base-rate gaps).
* `feature_bandit`: a preference bandit over response features with a concave gold reward (VPO).
* `safe_steps`: SafeSteps, verifiable reasoning with safety triggers, compliance cues and harmful
  steps, with its program judges (Intervened PO).
* `shapes_clip`: synthetic shape–colour–texture images with grammar captions (GLAD).
* `safe_control`: vectorized safe-control environments with a per-step cost (PointRobot,
  PointCircle, VelocityPendulum, RiskyPointMass) and scripted behaviour datasets.
* `glucose`: a glucose–insulin patient model (Bergman minimal model) with a hypo/hyper cost.
* `carry_addition`: multi-digit addition with easy (no-carry) and hard (carry) splits and a base
  corpus with a no-carry shortcut (RiskPO).
* `multiobjective`: multi-objective test problems (ZDT1/2, DTLZ2, BNH, HistGradientBoosting
  accuracy vs model size) with reference points.
* `key_door`: a key–door corridor for a text agent with a sparse success reward and a noisy
  scripted demonstrator (EMPG).
* `gaussian_ring`: the 8-Gaussian ring with a proxy reward that over-optimizes against the data's
  log-density and mode-diversity metrics (GRPO-Guard).
* `lp_language`: LP-lite word problems, a tiny formulation language, its HiGHS checker and the
  first-wrong-token locator (CALM).

Layer rule: modules here define problems only and import only `guardopt.core` (and, for
encodings shared between problems, each other). No method code lives here, and nothing here
imports a method family, `guardopt.reproduce` or torch.

Every module's public names (its ``__all__``) are re-exported here **lazily** (PEP 562): ``import
guardopt.problems`` imports no submodule, and the first access to a re-exported name (or to
``__all__`` / ``dir()``) imports the submodules to build the name map. Where two modules export
the same name, `_OWNERS` says which one the package name refers to:

* ``ackley``, ``levy``, ``rosenbrock``: `synthetic`'s test functions; the offline-task landscapes
  of the same names stay at ``guardopt.problems.offline_tasks.<name>``.

German Credit has one canonical loader, `credit.load_german_credit` (returns a `CreditData`);
`fairness.load_german_credit_groups` (returns a `TabularData` with one group attribute) is built
on it, and ``fairness.load_german_credit`` remains as that function's former name.

An unresolved clash (a name in two modules' ``__all__`` and not in `_OWNERS`) raises ImportError
when the map is built, so a new clash is noticed by ``tests/problems/test_problems_package.py``.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Submodules whose ``__all__`` is re-exported, in this order.
_MODULES: tuple[str, ...] = (
    "constrained_quadratics",
    "credit",
    "fairness",
    "gold_reward",
    "linear_systems",
    "offline_tasks",
    "sea",
    "streams",
    "synthetic",
    "linear_sem",
    "knapsack",
    "bilevel_toys",
    # numeric programs with textual feedback (Trace / OPTO)
    "numeric_programs",
    # audit family
    "audit_tasks",
    # preference optimization: the feature bandit (VPO)
    "feature_bandit",
    # preference optimization: SafeSteps (Intervened PO)
    "safe_steps",
    # GLAD: synthetic image-caption data (ShapesCLIP)
    "shapes_clip",
    # safe offline RL: safe-control environments and the glucose-insulin patient
    "safe_control",
    "glucose",
    # multi-objective test problems (ZDT, DTLZ2, BNH, HistGradientBoosting accuracy vs size)
    "multiobjective",
    # RiskPO: multi-digit addition with a no-carry shortcut in the base corpus
    "carry_addition",
    # EMPG: the key-door corridor text agent
    "key_door",
    # GRPO-Guard: the 8-Gaussian ring, proxy vs gold reward
    "gaussian_ring",
    # preference optimization: LP-lite word problems, formulation language and HiGHS checker (CALM)
    "lp_language",
)

#: Which module a name exported by several modules refers to at package level.
_OWNERS: dict[str, str] = {
    "ackley": "synthetic",
    "levy": "synthetic",
    "rosenbrock": "synthetic",
}

_NAME_TO_MODULE: dict[str, str] | None = None


def _public_names(module: Any) -> list[str]:
    """A module's ``__all__``, or, while a module has none, the public names defined in it."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    # Fallback for a module still being written: skip imported modules and imported callables.
    return [
        name for name, value in vars(module).items()
        if not name.startswith("_")
        and type(value).__name__ != "module"
        and getattr(value, "__module__", module.__name__) == module.__name__
    ]


def _name_map() -> dict[str, str]:
    """``{public name: submodule}``, built on first use (this imports every submodule)."""
    global _NAME_TO_MODULE
    if _NAME_TO_MODULE is None:
        owners: dict[str, list[str]] = {}
        for mod_name in _MODULES:
            module = importlib.import_module(f"{__name__}.{mod_name}")
            for name in _public_names(module):
                owners.setdefault(name, []).append(mod_name)
        mapping: dict[str, str] = {}
        for name, mods in owners.items():
            if len(mods) == 1:
                mapping[name] = mods[0]
            elif _OWNERS.get(name) in mods:
                mapping[name] = _OWNERS[name]
            else:
                raise ImportError(
                    f"guardopt.problems: {name!r} is exported by {', '.join(mods)}; "
                    "add it to guardopt.problems._OWNERS."
                )
        _NAME_TO_MODULE = mapping
    return _NAME_TO_MODULE


def __getattr__(name: str) -> Any:
    if name == "__all__":
        return sorted(_name_map())
    if name.startswith("__"):  # e.g. __path__ probes: never import submodules for dunders
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name = _name_map().get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_name_map()) | set(_MODULES))
