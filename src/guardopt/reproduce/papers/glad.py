"""Reproduction `glad`: LoRA tuning with GLAD's regularized gradient against plain LoRA, few-shot.

Paper: Peng, Wang, Liu & Chen (2025), "GLAD: Generalizable Tuning for Vision-Language Models", ICCV
2025 workshops, arXiv 2507.13089. The abstract's claim: LoRA tuning of CLIP plus a gradient-based
regularization (GLAD) "outperforms previous tuning approaches in terms of base-to-novel class
generalization, image domain generalization, and cross-dataset generalization"; plain LoRA, the
method it regularizes, is the baseline here. No CLIP weights are available, so a tiny dual encoder
(`guardopt.align.vision`) is pre-trained from scratch on synthetic ShapesCLIP image–caption pairs
(`guardopt.problems.shapes_clip`) and tuned 16-shot on 20 base classes.

How the verdict follows the rules of ``docs/reproduce.md``:

1. *The claim as stated.* Base-to-novel: the harmonic mean H of base and novel accuracy of GLAD is at
   least plain LoRA's + 1 point, and GLAD's novel accuracy at least LoRA's. Image domain: GLAD's
   accuracy on the domain-shifted set (the base classes in textures tuning never sees) at least
   LoRA's. Cross-dataset: GLAD's zero-shot accuracy on a second synthetic data set with other classes
   at least LoRA's. Sanity: LoRA's base accuracy is at least the zero-shot model's + 10 points (the
   comparison is made where few-shot tuning matters).
2. *The paper's settings.* 16 shots per base class, 20 base / 20 novel classes, LoRA on the
   query/key/value projections of both towers (the CLIP-LoRA convention, α = 2r), the CLIP-LoRA
   objective (cross-entropy over the class prompts), AdamW. The regularizer's form and its ρ, γ are
   ours (`guardopt.optim.glad` says what in the paper supports the form).
3. *Baselines tuned with the same budget on disjoint seeds, without seeing a novel class.* In
   base-to-novel evaluation the novel classes are unseen until the test, so every knob is scored by
   the accuracy on a held-out validation split of the BASE classes
   (`ShapesCLIP.base_validation`, drawn apart from the shots) of tuning seeds
   (`guardopt.reproduce.tuning`) that the evaluation never sees; a tuning seed has its own
   pre-training, shots and class split, and builds no novel-class, domain-shifted or cross-dataset
   view at all. Plain LoRA's grid is lr × rank × epochs (3 × 2 × 3 = 18 settings); GLAD's is
   ρ × γ × epochs (3 × 2 × 3 = 18 settings) at LoRA's chosen lr and rank (GLAD is that LoRA plus the
   optimizer). A grid whose chosen value sits on an edge is extended one step past it and searched
   again, up to three rounds, for each arm under the same rule (`EXTEND`); γ only ever approaches 1
   (γ = 1 is SAM, its own arm) and epochs stop at 20 (the CPU budget: a first attempt that let
   epochs grow to 160 had spent over 5 CPU-minutes without finishing
   its search), so an edge that remains
   is named in the report's tuning table. ``epochs`` costs no extra run: the learning rate is constant, so one run
   to the grid's largest epoch count is read after every epoch.
4. *No best-of selection.* The verdict uses the one tuned GLAD setting. SAM (γ = 1 at the chosen ρ)
   has its own line. The sensitivity to our choices: γ ∈ {0 (plain LoRA), tuned, 1 (SAM)} on the
   evaluation seeds, and every searched (ρ, γ, epochs) on the tuning seeds (the tuning table); a
   per-ρ arm on the evaluation seeds did not fit the CPU budget.
5. *Strict criteria.* Every comparison is a paired difference over the evaluation seeds (the arms of
   a seed share the pre-trained checkpoint and the data) with a one-sided 95% lower bound above the
   margin (`paired_gain`). The full scale uses 5 evaluation seeds: 3 paired seeds could not show a
   1-point gain.
6. *Negative control.* ``glad-broken`` is GLAD with γ = −1 (the gradient pushed *away* from SAM's,
   towards sharp regions); a unit test shows that putting it in GLAD's place makes the verdict FAIL.
7. *Third party.* The LoRA adapters are peft's (``LoraConfig`` / ``get_peft_model``). No GLAD code
   is public; pytorch-optimizer's ``SAM`` installs next to torch 2.13, and a unit test
   (``tests/optim/test_glad.py``) checks that GLAD with γ = 1 takes the same steps as it. That check is
   not run inside this reproduction's cells. The regularized gradient is also checked against
   hand-computed and finite-difference values.

**What changed from the first version, and why.**

* *Tuning protocol.* The first version scored LoRA's learning rate and GLAD's (ρ, γ) by H, which
  reads the novel classes' test-time accuracy (and it chose its grid's smallest learning rate, an
  edge). Now every knob is scored on held-out base-class images only, both arms search grids of the
  same size, and edges are extended (item 3 above).
* *Substrate calibration.* In the first version 16-shot LoRA gained only +5.9 base points over the
  zero-shot model (the sanity check needs +10), so GLAD was compared where tuning barely matters.
  The pre-training now (a) trains longer (800 steps instead of 400: the 400-step encoder was far from
  converged, 24–34% zero-shot base accuracy) and (b) uses systematically noisy colour words: 85% of
  the captions name the colour (``colour_rate``) and 40% of those name the colour's fixed confusion
  partner instead (``colour_noise``, `shapes_clip.confusion_partner`). This mirrors CLIP's situation:
  web alt-text covers every concept but describes the attribute that separates fine-grained classes
  loosely and often wrongly, so zero-shot transfer is well above chance but well below what a few
  labelled shots teach, on the base classes and — through the shared words — partly on the novel
  ones. The design was fixed from the zero-shot model and plain LoRA alone, before any GLAD number on
  the new substrate was computed. Pilots (zero-shot → LoRA base accuracy at lr 0.01, rank 2, 20
  epochs; a hand-written script on seeds 0–3, which share the class splits of evaluation seeds 0–3
  but not their pre-training draws, initializations or images): clean captions at 800 steps gave
  +14.5, +8, +17, +18 and +2 points (too uneven for a strict +10 bound); noise 0.25 gave +23, +14,
  +9, +12; noise 0.4 gave +21 and +23 (zero-shot ≈ 19%, chance 5%). The chosen design (colour rate
  0.85, noise 0.4, 800 steps) was then checked on six pilot seeds (100–105, neither evaluation nor
  tuning seeds) through this module's own code: zero-shot base 16–26%, LoRA base 36–47%, gains
  +26.0, +22.5, +29.6, +12.6, +15.0, +30.2. Pre-training in the downstream rendering instead (a
  smaller domain gap) made LoRA *lose* base accuracy on one seed and failed to train at all on
  another, and was dropped.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.core.seeding import derive_seed
from guardopt.reproduce.criteria import paired_gain
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import format_mean_se
from guardopt.reproduce.threads import torch_threads as _torch_threads
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

TASK = "shapes-clip"
#: The paper's method, the baseline, SAM, the zero-shot model, the negative control.
MAIN_METHODS = ("glad", "lora", "sam", "zero-shot", "glad-broken")
METHODS = MAIN_METHODS

#: The starting grids of the two arms, the same number of settings each (full scale).
LORA_GRID: dict[str, list[Any]] = {"lr": [3e-3, 1e-2, 3e-2], "rank": [2, 4], "epochs": [5, 10, 20]}
GLAD_GRID: dict[str, list[Any]] = {"rho": [0.02, 0.05, 0.1], "gamma": [0.25, 0.5], "epochs": [5, 10, 20]}
#: The quick scale's grids (two settings each, one run per tuning seed); never extended.
QUICK_LORA_GRID: dict[str, list[Any]] = {"lr": [1e-2], "rank": [2], "epochs": [2, 4]}
QUICK_GLAD_GRID: dict[str, list[Any]] = {"rho": [0.05], "gamma": [0.5], "epochs": [2, 4]}


def _step(up: Callable[[float], float], down: Callable[[float], float], lo: float, hi: float,
          cast: Callable[[float], Any] = float) -> Callable[[Any, int], Any | None]:
    def extend(v: Any, direction: int) -> Any | None:
        new = cast(up(v) if direction > 0 else down(v))
        return new if lo <= new <= hi and new != v else None
    return extend


#: How an axis grows past an edge (``direction`` +1 above the largest value, -1 below the smallest);
#: ``None`` when the axis is at its limit. γ approaches 1 (SAM, its own arm) and 0 (plain LoRA) but never
#: reaches them.
EXTEND: dict[str, Callable[[Any, int], Any | None]] = {
    "lr": _step(lambda v: v * 3.0, lambda v: v / 3.0, 1e-4, 0.3, lambda v: float(f"{v:.3g}")),
    "rank": _step(lambda v: v * 2, lambda v: v // 2, 1, 16, int),
    "epochs": _step(lambda v: v * 2, lambda v: v // 2, 2, 20, int),
    "rho": _step(lambda v: v * 2.0, lambda v: v / 2.0, 0.005, 1.0, lambda v: float(f"{v:.3g}")),
    "gamma": _step(lambda v: (1.0 + v) / 2.0, lambda v: v / 2.0, 0.05, 0.95, lambda v: float(f"{v:.4g}")),
}
MAX_EXTENSIONS = 3
BROKEN_GAMMA = -1.0
H_MARGIN = 1.0  # points
SANITY_MARGIN = 10.0  # points

SETTINGS: dict[str, Any] = {
    "pretrain_pairs": 4000,
    "pretrain_steps": 800,
    "pretrain_batch": 64,
    "pretrain_lr": 1e-2,
    "colour_rate": 0.85,
    "colour_noise": 0.4,
    "shots": 16,
    "val_per_class": 20,
    "test_per_class": 40,
    "batch_size": 32,
    "tuning_seeds": 2,
    "grids": "full",
    "torch_threads": 1,
}


def harmonic_mean(base: float, novel: float) -> float:
    """``2 b n / (b + n)``, 0 when both are 0."""
    return 0.0 if base + novel <= 0 else 2.0 * base * novel / (base + novel)


def _grids(s: Mapping[str, Any]) -> tuple[dict[str, list[Any]], dict[str, list[Any]], int]:
    if s["grids"] == "quick":
        return QUICK_LORA_GRID, QUICK_GLAD_GRID, 0
    return LORA_GRID, GLAD_GRID, MAX_EXTENSIONS


@functools.lru_cache(maxsize=4)
def _pretrained(seed: int, settings_json: str) -> Any:
    """The encoder of a seed, pre-trained from scratch on its (noisy-caption) pairs; cached."""
    import torch

    from guardopt.align.vision import DualEncoderConfig, PretrainConfig, pretrain
    from guardopt.problems.shapes_clip import VOCAB, pretraining_pairs

    s = json.loads(settings_json)
    torch.set_num_threads(_torch_threads(s))
    images, captions = pretraining_pairs(int(s["pretrain_pairs"]), seed=derive_seed(seed, "pairs") or 0,
                                         colour_rate=float(s["colour_rate"]), colour_noise=float(s["colour_noise"]))
    cfg = PretrainConfig(pairs=int(s["pretrain_pairs"]), steps=int(s["pretrain_steps"]),
                         batch_size=int(s["pretrain_batch"]), lr=float(s["pretrain_lr"]),
                         encoder=DualEncoderConfig(vocab=VOCAB))
    return pretrain(images, captions, cfg, seed=int(derive_seed(seed, "init") or 0) % 2**31)


@functools.lru_cache(maxsize=4)
def tuning_views(seed: int, settings_json: str) -> dict[str, Any]:
    """What a tuning seed shows the search: the base-class shots and a held-out base-class validation split.

    No novel-class, domain-shifted or cross-dataset image is drawn for a tuning seed.
    """
    from guardopt.problems.shapes_clip import ShapesCLIP

    s = json.loads(settings_json)
    data = ShapesCLIP(seed=seed % 2**31)
    return {"few_shot": data.few_shot(int(s["shots"]), derive_seed(seed, "shots") or 0),
            "val": data.base_validation(int(s["val_per_class"]), derive_seed(seed, "val") or 0)}


@functools.lru_cache(maxsize=8)
def _eval_views(seed: int, settings_json: str) -> dict[str, Any]:
    """The shots and the four test views of an evaluation seed (shared by every arm of the seed)."""
    from guardopt.problems.shapes_clip import ShapesCLIP, ShapesTextures

    s = json.loads(settings_json)
    data = ShapesCLIP(seed=seed % 2**31)
    per = int(s["test_per_class"])
    return {
        "few_shot": data.few_shot(int(s["shots"]), derive_seed(seed, "shots") or 0),
        "base": data.base_test(per, derive_seed(seed, "base") or 0),
        "novel": data.novel_test(per, derive_seed(seed, "novel") or 0),
        "shifted": data.shifted(per, derive_seed(seed, "shifted") or 0),
        "cross": ShapesTextures(seed=seed % 2**31).test(per, derive_seed(seed, "cross") or 0),
    }


def _config(s: Mapping[str, Any], lr: float, rank: int, epochs: int, rho: float | None, gamma: float | None) -> Any:
    from guardopt.align.vision import GLADTuningConfig, LoRATuningConfig

    r, bs = int(rank), int(s["batch_size"])
    if rho is None:
        return LoRATuningConfig(rank=r, alpha=2 * r, lr=float(lr), epochs=int(epochs), batch_size=bs)
    return GLADTuningConfig(rank=r, alpha=2 * r, lr=float(lr), epochs=int(epochs), batch_size=bs, rho=float(rho),
                            gamma=float(gamma if gamma is not None else 0.0))


@functools.lru_cache(maxsize=256)
def validation_curve(seed: int, settings_json: str, lr: float, rank: int, rho: float | None,
                     gamma: float | None, max_epochs: int) -> tuple[float, ...]:
    """Base-class validation accuracy (points) after each epoch 1..max_epochs of one tuning run."""
    from guardopt.align.vision import tune as tune_encoder
    from guardopt.align.vision import zero_shot_accuracy

    s = json.loads(settings_json)
    model = _pretrained(seed, settings_json)
    views = tuning_views(seed, settings_json)
    fs, val = views["few_shot"], views["val"]
    curve: list[float] = []
    tune_encoder(model, fs.images, fs.labels, fs.prompts, _config(s, lr, rank, max_epochs, rho, gamma),
                 seed=derive_seed(seed, "tune") or 0,
                 on_epoch=lambda e, m: curve.append(100.0 * zero_shot_accuracy(m, val)))
    return tuple(curve)


Score = Callable[[Mapping[str, Any], int], float]


def tune_extending(make_score: Callable[[Mapping[str, Sequence[Any]]], Score], grid: Mapping[str, Sequence[Any]],
                   seeds: Sequence[int], rounds: int) -> tuple[TuningResult, dict[str, list[Any]], list[str]]:
    """`tune` on ``grid``; while a chosen value sits on an edge of its axis, extend that axis (`EXTEND`) and retune.

    Args:
        make_score: ``grid -> score(setting, seed)``; the score may use the whole grid (to serve every
            epoch count from one run) and should cache, since a grown grid re-asks old settings.
        grid: The starting grid (each axis is searched sorted).
        seeds: Tuning seeds.
        rounds: Most extensions (0: a plain `tune`).

    Returns:
        ``(the last TuningResult, the final grid, the axes whose choice is still on an edge)``; an
        axis of one value has no edge.
    """
    g = {k: sorted(v) for k, v in grid.items()}
    res = tune(make_score(g), g, seeds)
    for _ in range(rounds):
        grown = False
        for k, vals in list(g.items()):
            v = res.chosen[k]
            if len(vals) < 2 or vals[0] < v < vals[-1]:
                continue
            new = EXTEND[k](v, 1 if v == vals[-1] else -1)
            if new is not None and new not in vals:
                g[k] = sorted([*vals, new])
                grown = True
        if not grown:
            break
        res = tune(make_score(g), g, seeds)
    edges = [k for k, vals in g.items() if len(vals) > 1 and res.chosen[k] in (vals[0], vals[-1])]
    return res, g, edges


Tuned = tuple[TuningResult, dict[str, list[Any]], list[str]]


@functools.lru_cache(maxsize=4)
def _tuning(settings_json: str) -> tuple[Tuned, Tuned]:
    """LoRA's (lr, rank, epochs), then GLAD's (ρ, γ, epochs) at that lr and rank; scored on base-class validation."""
    s = json.loads(settings_json)
    seeds = tuning_seeds(int(s["tuning_seeds"]))
    lora_grid, glad_grid, rounds = _grids(s)

    def lora_score(grid: Mapping[str, Sequence[Any]]) -> Score:
        top = max(int(e) for e in grid["epochs"])  # one run to the largest epoch count serves every smaller one
        return lambda st, sd: validation_curve(sd, settings_json, float(st["lr"]), int(st["rank"]), None, None,
                                               top)[int(st["epochs"]) - 1]

    lora = tune_extending(lora_score, lora_grid, seeds, rounds)
    lr, rank = float(lora[0].chosen["lr"]), int(lora[0].chosen["rank"])

    def glad_score(grid: Mapping[str, Sequence[Any]]) -> Score:
        top = max(int(e) for e in grid["epochs"])
        return lambda st, sd: validation_curve(sd, settings_json, lr, rank, float(st["rho"]), float(st["gamma"]),
                                               top)[int(st["epochs"]) - 1]

    return lora, tune_extending(glad_score, glad_grid, seeds, rounds)


def _arm(seed: int, settings_json: str, lr: float, rank: int, epochs: int, rho: float | None,
         gamma: float | None) -> dict[str, float]:
    """Tune one arm from the seed's checkpoint and evaluate it on the four test views (``rho is None``: plain LoRA)."""
    from guardopt.align.vision import tune as tune_encoder

    s = json.loads(settings_json)
    model = _pretrained(seed, settings_json)
    views = _eval_views(seed, settings_json)
    fs = views["few_shot"]
    t0 = time.process_time()
    tuned = tune_encoder(model, fs.images, fs.labels, fs.prompts, _config(s, lr, rank, epochs, rho, gamma),
                         seed=derive_seed(seed, "tune") or 0)
    out = _evaluate(tuned, views)
    out["cpu_seconds"] = time.process_time() - t0
    return out


def _evaluate(model: Any, views: dict[str, Any]) -> dict[str, float]:
    from guardopt.align.vision import zero_shot_accuracy

    out = {k: 100.0 * zero_shot_accuracy(model, views[k]) for k in ("base", "novel", "shifted", "cross")}
    return {"base_acc": out["base"], "novel_acc": out["novel"], "H": harmonic_mean(out["base"], out["novel"]),
            "shifted_acc": out["shifted"], "cross_acc": out["cross"]}


def _tuning_curves(tuned: Tuned, kind: str) -> dict[str, list[float]]:
    """The searched grid of one arm as parallel columns (one entry per setting) plus its edge flags."""
    res, grid, edges = tuned
    cols: dict[str, list[float]] = {f"tune_{kind}_{k}": [float(st[k]) for st, _ in res.scores] for k in grid}
    cols[f"tune_{kind}_score"] = [float(sc) for _, sc in res.scores]
    cols[f"tune_{kind}_edges"] = [1.0 if k in edges else 0.0 for k in grid]
    return cols


@functools.lru_cache(maxsize=8)
def _run_seed(seed: int, settings_json: str) -> tuple[dict[str, dict[str, float]], dict[str, list[float]]]:
    """Every arm of one evaluation seed, tuned from the same pre-trained checkpoint, and the tuning tables."""
    lora_t, glad_t = _tuning(settings_json)
    lr, rank, ep_l = float(lora_t[0].chosen["lr"]), int(lora_t[0].chosen["rank"]), int(lora_t[0].chosen["epochs"])
    rho, gamma = float(glad_t[0].chosen["rho"]), float(glad_t[0].chosen["gamma"])
    ep_g = int(glad_t[0].chosen["epochs"])
    zs = _evaluate(_pretrained(seed, settings_json), _eval_views(seed, settings_json))
    arms: dict[str, tuple[int, float | None, float | None]] = {
        "lora": (ep_l, None, None), "glad": (ep_g, rho, gamma), "sam": (ep_g, rho, 1.0),
        "glad-broken": (ep_g, rho, BROKEN_GAMMA),
    }
    out: dict[str, dict[str, float]] = {"zero-shot": {**zs, "cpu_seconds": 0.0}}
    for name, (ep, r, g) in arms.items():
        out[name] = _arm(seed, settings_json, lr, rank, ep, r, g)
    for name, m in out.items():
        m["zs_base_acc"] = zs["base_acc"]
        knobs = arms.get(name)
        m["lr"] = lr if knobs else math.nan
        m["rank"] = float(rank) if knobs else math.nan
        m["epochs"] = float(knobs[0]) if knobs else math.nan
        m["rho"] = knobs[1] if knobs and knobs[1] is not None else math.nan
        m["gamma"] = knobs[2] if knobs and knobs[2] is not None else math.nan
        m["tuning_seeds"] = float(len(lora_t[0].seeds))
    return out, {**_tuning_curves(lora_t, "lora"), **_tuning_curves(glad_t, "glad")}


def run_cell(cell: Cell) -> CellResult:
    """One arm of one seed (the seed's arms share its pre-training, data and tuning choices)."""
    settings = {**SETTINGS, **dict(cell.settings)}
    metrics, curves = _run_seed(cell.seed, json.dumps(settings, sort_keys=True))
    return CellResult(metrics=dict(metrics[cell.method]), curves=curves if cell.method == "lora" else {})


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


def _gain(results: Results, metric: str, ours: str, base: str, check: str, margin: float = 0.0) -> Evidence:
    a, b = results.paired(metric, (TASK, ours), (TASK, base))
    return paired_gain(check, a, b, margin=margin)


def verdict(results: Results, method: str = "glad") -> Verdict:
    """The base-to-novel, domain and cross-dataset checks of ``method`` (default GLAD) against plain LoRA."""
    ev = [
        _gain(results, "H", method, "lora",
              f"base-to-novel: H({method}) ≥ H(LoRA) + {H_MARGIN:g} pt (paired, points)", H_MARGIN),
        _gain(results, "novel_acc", method, "lora",
              f"base-to-novel: novel accuracy({method}) ≥ LoRA's (paired, points)"),
        _gain(results, "shifted_acc", method, "lora",
              f"image domain: accuracy on the texture-shifted base classes({method}) ≥ LoRA's (paired, points)"),
        _gain(results, "cross_acc", method, "lora",
              f"cross-dataset: zero-shot accuracy on ShapesTextures({method}) ≥ LoRA's (paired, points)"),
        _gain(results, "base_acc", "lora", "zero-shot",
              f"sanity: LoRA base accuracy ≥ zero-shot + {SANITY_MARGIN:g} pts (paired, points)", SANITY_MARGIN),
    ]
    n_claim = sum(e.counts_as_pass for e in ev[:4])
    sanity = "passes" if ev[4].counts_as_pass else "fails"
    return Verdict.from_evidence(ev, f"{n_claim} of 4 claim checks (H, novel, domain, cross-dataset) pass for "
                                     f"{method} against plain LoRA; sanity {sanity}")


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _ms(v: np.ndarray) -> str:
    return format_mean_se(v, 1)


def _diff(results: Results, metric: str, a: str, b: str) -> str:
    x, y = results.paired(metric, (TASK, a), (TASK, b))
    d = x - y
    d = d[np.isfinite(d)]
    return f"{d.mean():+.1f}" if d.size else "–"


def extra_markdown(results: Results) -> str:
    """Accuracy per arm; the sensitivity to ρ; the tuning tables; the negative control's verdict."""
    cols = ("base_acc", "novel_acc", "H", "shifted_acc", "cross_acc")
    head = "| arm | base | novel | H | domain-shifted | cross-dataset | ΔH vs LoRA | CPU s |"
    lines = ["### Accuracy per arm (percent, mean ± SE over evaluation seeds)", "", head, "|---" * 8 + "|"]
    for m in METHODS:
        if not results.seeds(TASK, m):
            continue
        row = " | ".join(_ms(results.metric(c, TASK, m)) for c in cols)
        dh = _diff(results, "H", m, "lora") if m != "lora" else "–"
        lines.append(f"| {m} | {row} | {dh} | {_ms(results.metric('cpu_seconds', TASK, m))} |")
    knobs = {k: results.metric(k, TASK, "glad") for k in ("rho", "gamma", "epochs")}
    lk = {k: results.metric(k, TASK, "lora") for k in ("lr", "rank", "epochs")}
    chosen = ""
    if all(v.size for v in knobs.values()) and all(v.size for v in lk.values()):
        chosen = (f" Chosen on the tuning seeds: LoRA lr = {lk['lr'][0]:g}, rank = {lk['rank'][0]:g}, epochs = "
                  f"{lk['epochs'][0]:g}; GLAD ρ = {knobs['rho'][0]:g}, γ = {knobs['gamma'][0]:g}, epochs = "
                  f"{knobs['epochs'][0]:g} (at LoRA's lr and rank).")
    lines += ["", "`glad` is the tuned (ρ, γ, epochs); `sam` is γ = 1 and `glad-broken` γ = "
              f"{BROKEN_GAMMA:g} (negative control) at the same ρ and epochs; "
              "`zero-shot` is the pre-trained encoder. γ = 0 is plain LoRA and γ = 1 SAM, so `lora`, `glad` and `sam` "
              "are the sensitivity to γ; the tuning table below is the sensitivity to every searched (ρ, γ, epochs) "
              "on the tuning seeds." + chosen, ""]
    lines += _tuning_tables(results)
    broken = verdict(results, "glad-broken")
    lines += ["### Negative control", "",
              f"The same verdict with `glad-broken` (γ = {BROKEN_GAMMA:g}) in GLAD's place: **{broken.status.value}** "
              f"— {broken.summary}.", ""]
    for e in broken.evidence[:4]:
        outcome = e.outcome.value if e.outcome else ""
        lines.append(f"- {e.check}: {e.value:.2f} vs {e.threshold} → {outcome} ({e.detail})")
    lines += ["", "Default settings (the full scale): `" + json.dumps(SETTINGS, sort_keys=True) + "`", ""]
    return "\n".join(lines)


def _tuning_tables(results: Results) -> list[str]:
    """The two tuning tables, rebuilt from the columns the ``lora`` cells store (``tune_lora_*``, ``tune_glad_*``)."""
    lines: list[str] = []
    for kind, names, title in (("lora", ("lr", "rank", "epochs"), "Plain LoRA (lr, rank, epochs)"),
                               ("glad", ("rho", "gamma", "epochs"),
                                "GLAD (ρ, γ, epochs) at LoRA's chosen lr and rank")):
        cols = {k: results.curves(f"tune_{kind}_{k}", TASK, "lora") for k in (*names, "score", "edges")}
        if any(c.size == 0 for c in cols.values()):
            continue
        vals = {k: c[0][np.isfinite(c[0])] for k, c in cols.items()}
        scores = vals["score"]
        best = int(np.nanargmax(scores)) if scores.size and np.isfinite(scores).any() else -1
        grid = {k: sorted(set(vals[k].tolist())) for k in names}
        edge = [k for k, flag in zip(names, vals["edges"]) if flag > 0]
        final = "; ".join(f"{k} ∈ {{{', '.join(f'{v:g}' for v in grid[k])}}}" for k in names)
        where = ("every choice is interior to the final grid" if not edge else
                 "still on an edge: " + ", ".join(edge) + " (at the axis's limit: "
                 + ", ".join(_LIMIT_WHY[k] for k in edge) + ")")
        lines += [f"**{title}** — {scores.size} settings searched on {int(_n_tuning(results))} tuning seeds "
                  "(disjoint from the evaluation seeds); score: mean accuracy (points) on a held-out validation "
                  "split of the BASE classes (no novel class is seen), higher is better. Final grid: "
                  f"{final}; {where}.", "",
                  "| " + " | ".join(names) + " | mean base-val acc | chosen |", "|---" * (len(names) + 2) + "|"]
        for i in range(scores.size):
            mark = "**yes**" if i == best else ""
            lines.append("| " + " | ".join(f"{vals[k][i]:g}" for k in names) + f" | {scores[i]:.2f} | {mark} |")
        lines.append("")
    return lines


_LIMIT_WHY = {
    "lr": "lr is kept in [1e-4, 0.3]",
    "rank": "rank is kept in [1, 16]; 16 is half the model width of 32, so the adapter is already close to "
            "tuning q/k/v in full",
    "epochs": "epochs are capped at 20, the CPU budget of the full scale (every tuning run goes to 20 epochs "
              "and is read after each)",
    "rho": "ρ is kept in [0.005, 1]",
    "gamma": "γ stays inside (0, 1): γ = 0 is plain LoRA and γ = 1 is SAM, both their own arms",
}


def _n_tuning(results: Results) -> float:
    v = results.metric("tuning_seeds", TASK, "lora")
    return float(v[0]) if v.size else math.nan


def plots(results: Results, outdir: Path) -> list[Path]:
    """Base / novel / H / shifted / cross-dataset accuracy per arm, and the paired H gain of every GLAD variant."""
    from guardopt.reproduce.plotting import mean_se, panel_row, save_figure

    out = Path(outdir)
    arms = [m for m in MAIN_METHODS if results.seeds(TASK, m)]
    if not arms:
        return []
    cols = [("base_acc", "base"), ("novel_acc", "novel"), ("H", "H"), ("shifted_acc", "domain\nshifted"),
            ("cross_acc", "cross-\ndataset")]
    fig, (ax, ax2) = panel_row(2, (12.0, 4.2))
    width = 0.8 / len(arms)
    idx = np.arange(len(cols))
    for j, m in enumerate(arms):
        stats_ = [mean_se(results.metric(c, TASK, m)) for c, _ in cols]
        ax.bar(idx + (j - (len(arms) - 1) / 2) * width, [float(s[0]) for s in stats_], width,
               yerr=[float(s[1]) for s in stats_], capsize=2, label=m)
    ax.set_xticks(idx)
    ax.set_xticklabels([c[1] for c in cols])
    ax.set_ylabel("accuracy (%)")
    ax.set_title("ShapesCLIP, 16-shot tuning on 20 base classes")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    variants = [m for m in ("glad", "sam", "glad-broken")
                if results.seeds(TASK, m) and results.seeds(TASK, "lora")]
    for j, m in enumerate(variants):
        a, b = results.paired("H", (TASK, m), (TASK, "lora"))
        d = a - b
        ax2.scatter(np.full(d.size, j), d, s=14, alpha=0.6)
        ax2.errorbar([j], [float(np.mean(d))], yerr=[float(mean_se(d)[1])], fmt="_", color="black", capsize=6,
                     markersize=18)
    ax2.axhline(0.0, color="grey", linewidth=1)
    ax2.axhline(H_MARGIN, color="black", linestyle="--", linewidth=1, label=f"claim: +{H_MARGIN:g} point")
    ax2.set_xticks(np.arange(len(variants)))
    ax2.set_xticklabels(variants, rotation=20, fontsize=8)
    ax2.set_ylabel("H − H(plain LoRA), points (one dot per seed)")
    ax2.set_title("Paired H gain over plain LoRA")
    ax2.grid(axis="y", alpha=0.3)
    ax2.legend(fontsize=8)
    return [save_figure(fig, out / "glad_accuracy.png")]


NOTES = """\
**Setup.** ShapesCLIP images are 16×16 RGB: one of 8 shapes in one of 5 colours with one of 4 textures on a
noisy grey background; a class is a (colour, shape) pair (40 classes; a seeded split makes 20 base and 20
novel). The dual encoder (a 3-convolution CNN with one attention block over its 4×4 map, and a 2-layer text
transformer, width 32, ≈46k parameters) is pre-trained from scratch per seed (800 Adam steps, batch 64) with
the CLIP contrastive loss on 4000 caption pairs from a grammar that covers every shape, colour and texture, in a
cleaner rendering than the downstream images (the analogue of web pre-training vs a downstream data set).
**Calibration (fixed from the zero-shot model and plain LoRA only, before any GLAD number on this substrate):**
85% of the pre-training captions name the colour, and 40% of those name the colour's fixed confusion partner
instead (noisy alt-text), so zero-shot accuracy is well above chance but well below what 16 labelled shots
teach — CLIP's situation on fine-grained targets. Tuning: 16 images per base class in the two source textures
(solid, striped); LoRA (α = 2r) on q/k/v of every attention block of both towers (peft), AdamW at a constant
learning rate, batch 32, cross-entropy over the 20 base prompts "a photo of a <colour> <shape>". Evaluation:
base test images (20-way), novel test images (20-way over the novel prompts, zero-shot), the base classes in the
two textures tuning never saw (dotted, checkered: the domain-shifted set), and a second data set,
ShapesTextures, whose 20 classes are (texture, shape) pairs with colour a nuisance (the cross-dataset set,
prompts "a photo of a <texture> <shape>"). H = 2·base·novel/(base + novel).

**Tuning protocol.** Every knob of both arms is scored by the accuracy on a held-out validation split of the
BASE classes (20 images per class) of 2 tuning seeds; no novel-class image is drawn for a tuning seed. Both arms
start from 18-setting grids (LoRA: lr × rank × epochs; GLAD: ρ × γ × epochs at LoRA's lr and rank); an axis whose
choice lands on an edge grows one step past it, up to three times.

**GLAD's regularizer** (our form; the authors' code is unreleased): g̃ = g + γ(∇L(θ + ρ g/‖g‖) − g), SAM's
gradient used as the reference the plain gradient is steered towards; γ = 0 is plain LoRA, γ = 1 is SAM.

**Deviations.** A tiny from-scratch encoder on synthetic images replaces CLIP ViT-B/16 on 15 real data sets;
one "domain shift" (new textures) stands for ImageNet-V2/-Sketch/-A/-R, and one synthetic data set for the
ten cross-dataset targets. GLAD uses the learning rate and rank tuned for plain LoRA (it is that LoRA plus
the optimizer) and tunes its own (ρ, γ, epochs).
"""

REPRODUCTION_SCALES = {
    "quick": Scale(seeds=2, settings={"pretrain_pairs": 800, "pretrain_steps": 60, "shots": 4, "val_per_class": 4,
                                      "test_per_class": 8, "tuning_seeds": 1, "grids": "quick", "torch_threads": 1}),
    "full": Scale(seeds=5, settings={"torch_threads": 1}),
}

REPRODUCTION = Reproduction(
    name="glad",
    paper=Paper(title="GLAD: Generalizable Tuning for Vision-Language Models", year=2025,
                url="https://arxiv.org/abs/2507.13089"),
    claim=("LoRA tuning with GLAD's gradient regularizer outperforms plain LoRA in base-to-novel generalization "
           "(H ≥ LoRA's + 1 point, novel accuracy ≥ LoRA's), image-domain generalization and cross-dataset "
           "generalization, 16-shot."),
    tasks=(TASK,),
    methods=METHODS,
    metrics=("base_acc", "novel_acc", "H", "shifted_acc", "cross_acc", "zs_base_acc", "lr", "rank", "epochs", "rho",
             "gamma", "tuning_seeds", "cpu_seconds"),
    scales=REPRODUCTION_SCALES,
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)
