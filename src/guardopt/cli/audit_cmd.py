"""``guardopt audit``: metrics, thresholds and predictive multiplicity of a scored data set (CSV).

Reads a CSV with a label column (0/1), a group column (two values) and either a score column
(probabilities in [0, 1]) or, with ``--features``, feature columns on which a logistic regression is
fitted (then its viable prediction ranges over the ε-level set are computed too). Prints the
`guardopt.audit.MetricSuite` table, whether the decision thresholds can be met together and at
what accuracy, the calibration/error-rate program, and, for a fitted model, ambiguity.

Exit codes: 0 when the audit ran (whatever it found), 2 for usage errors (missing file or column,
a group with other than two values, unreadable numbers), 1 for other errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.cli._console import err, out
from guardopt.core.errors import GuardoptError


class UsageError(Exception):
    """A problem with the command line or the file's columns (exit code 2)."""


def _read(path: str, columns: list[str]) -> dict[str, list[str]]:
    if not Path(path).is_file():
        raise UsageError(f"no file at {path}")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise UsageError(f"column(s) {missing} not in {path}; columns: {header}")
        data: dict[str, list[str]] = {c: [] for c in columns}
        for row in reader:
            for c in columns:
                data[c].append(row[c])
    return data


def _numbers(values: list[str], name: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in values], dtype=float)
    except ValueError as exc:
        raise UsageError(f"column {name!r} holds a value that is not a number ({exc})") from None


def _thresholds(text: str) -> dict[str, float]:
    out_: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            out_[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--thresholds: {part!r} is not NAME=NUMBER") from None
    return out_


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt audit``; returns the exit code."""
    try:
        return _run(args)
    except UsageError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2 if isinstance(exc, ValueError) else 1


def _run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from guardopt.audit import (
        MetricSuite,
        MultiplicityConfig,
        ambiguity,
        calibration_error_rate_gap,
        discrepancy_bound,
        logistic,
        viable_prediction_ranges,
    )

    features = [c.strip() for c in args.features.split(",")] if args.features else []
    cols = [args.label, args.group, *([args.score] if args.score else features)]
    raw = _read(args.csv, cols)
    y = _numbers(raw[args.label], args.label)
    levels = sorted(set(raw[args.group]))
    if len(levels) != 2:
        raise UsageError(f"group column {args.group!r} must hold exactly two values; got {levels[:5]}")
    g = np.array([levels.index(v) for v in raw[args.group]], dtype=int)
    report: dict[str, Any] = {"rows": int(y.size), "group_levels": {"0": levels[0], "1": levels[1]}}
    X = None
    if args.score:
        s = _numbers(raw[args.score], args.score)
    else:
        X = np.column_stack([_numbers(raw[c], c) for c in features])
        if not np.isfinite(X).all():
            raise UsageError("feature columns hold NaN or infinite values")
        mu, sd = X.mean(axis=0), X.std(axis=0)
        X = (X - mu) / np.where(sd > 0, sd, 1.0)
        from guardopt.audit._checks import binary

        theta = logistic.fit(X, binary(y, args.label, "guardopt audit", both=True), 1.0)
        s = logistic.predict_proba(theta, X)
    suite = MetricSuite(_thresholds(args.thresholds))
    rep = suite.evaluate(y, s, g)
    table = Table(title=f"Metrics ({y.size} rows; group 1 = {levels[1]!r})", title_justify="left")
    for col in ("metric", "value", "threshold", "met"):
        table.add_column(col)
    for m, v in rep.values.items():
        table.add_row(m, f"{v:.4f}", f"{rep.thresholds[m]:g}", "yes" if rep.passed[m] else "[red]no[/]")
    table.add_row("accuracy", f"{rep.accuracy:.4f}", "—", "—")
    out.print(table)
    report["metrics"] = dict(rep.values)
    report["met"] = rep.passed
    report["accuracy"] = rep.accuracy
    joint = suite.feasible(s, y, g)
    free = MetricSuite({"demographic_parity": 1.0}).feasible(s, y, g)
    names = ", ".join(m for m in rep.thresholds if m in ("demographic_parity", "equalized_odds", "equal_opportunity",
                                                          "false_positive_rate")) or "none"
    out.print(f"Decision thresholds ({names}) met together by a derived classifier: accuracy {joint.accuracy:.4f} "
              f"(unconstrained {free.accuracy:.4f}; cost {free.accuracy - joint.accuracy:.4f}).")
    report["feasible_accuracy"] = joint.accuracy
    report["accuracy_cost"] = free.accuracy - joint.accuracy
    cal = calibration_error_rate_gap(s, y, g)
    tau = rep.thresholds.get("equalized_odds", 0.05)
    out.print(f"Calibrated within groups AND equal generalised error rates: smallest gap t* = {cal.gap:.4f} "
              f"(base rates {cal.base_rates[0]:.3f} vs {cal.base_rates[1]:.3f}) -> "
              f"{'feasible' if cal.feasible(tau) else 'infeasible'} at τ = {tau:g}.")
    report["calibration_error_rate_gap"] = cal.gap
    if X is not None:
        rng = np.random.default_rng(args.seed)
        idx = rng.choice(y.size, size=min(max(args.points, 1), y.size), replace=False)
        ranges = viable_prediction_ranges(X, y, X[idx], MultiplicityConfig(epsilon=args.epsilon, delta=args.delta))
        amb = ambiguity(ranges, args.delta)
        disc = discrepancy_bound(ranges, X[idx], args.delta)
        out.print(f"Predictive multiplicity (ε = {args.epsilon:g} of the loss, δ = {args.delta:g}, {idx.size} points): "
                  f"mean range width {np.nanmean(ranges.width):.4f}, ambiguity {amb:.3f}, "
                  f"discrepancy ≥ {disc:.3f}, unsolved points {int((~ranges.solved).sum())}.")
        report["multiplicity"] = {"mean_width": float(np.nanmean(ranges.width)), "ambiguity": amb,
                                  "discrepancy_bound": disc, "unsolved": int((~ranges.solved).sum())}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=lambda v: None if (
            isinstance(v, float) and math.isnan(v)) else str(v)) + "\n")
    return 0
