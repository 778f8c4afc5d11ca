"""Entry point of the ``guardopt`` command.

Only `argparse` is imported here, so ``guardopt <command> --help`` answers at once; each command's
module (and numpy, matplotlib, rich) is imported when the command runs.

Exit codes: 0 when the work was done (whatever the verdicts say: a claim that FAILS is a result,
not an error), 1 on errors (a cell or a verdict that raised, a reproduction module that does not
import, a store that cannot be read), 2 on usage errors (unknown names, bad options).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

DEFAULT_STORE = os.path.join(".guardopt", "results.db")
DEFAULT_OUT = os.path.join(".guardopt", "reports")
EXECUTORS = ("process", "ray", "dask")
DEFAULT_AUDIT_THRESHOLDS = "demographic_parity=0.05,equalized_odds=0.05,calibration=0.05"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (no heavy imports)."""
    parser = argparse.ArgumentParser(
        prog="guardopt",
        description="Optimization under uncertainty that stays safe: reproduce the seed papers' "
        "claims, write reports, inspect stored studies.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p_list = sub.add_parser(
        "list",
        help="list the reproductions (paper, claim, methods) and the problems",
        description="List every reproduction (paper, claim, tasks, methods, scales), the modules "
        "that failed to import, and the problem modules with their public names.",
    )
    p_list.set_defaults(handler="guardopt.cli.list_cmd")

    p_rep = sub.add_parser(
        "reproduce",
        help="run reproductions (resumable: stored cells are skipped)",
        description="Run the grid (tasks x methods x seeds) of each named reproduction and store "
        "every cell in SQLite as it finishes. A rerun skips finished cells and retries failed ones, "
        "so an interrupted run resumes. Prints a verdict table at the end. The exit code is "
        "non-zero only for errors, never because a claim failed.",
    )
    p_rep.add_argument("names", nargs="*", metavar="NAME", help="reproductions to run (see `guardopt list`)")
    p_rep.add_argument("--all", action="store_true", help="run every reproduction")
    scale = p_rep.add_mutually_exclusive_group()
    scale.add_argument("--quick", dest="scale", action="store_const", const="quick",
                       help="the quick scale (default): about a minute per reproduction")
    scale.add_argument("--full", dest="scale", action="store_const", const="full",
                       help="the full scale, as reported in reports/")
    p_rep.set_defaults(scale="quick")
    p_rep.add_argument("--seeds", type=_positive_int, default=None, metavar="N",
                       help="number of seeds (default: the scale's own)")
    p_rep.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                       help="parallel worker processes (default 1: run in this process)")
    p_rep.add_argument("--executor", choices=EXECUTORS, default="process",
                       help="where cells run (default process)")
    p_rep.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                       help=f"SQLite file holding the results (default {DEFAULT_STORE})")
    p_rep.add_argument("--force", action="store_true",
                       help="recompute cells even when they are stored (replaces them)")
    p_rep.add_argument("--no-progress", dest="progress", action="store_false",
                       help="no progress bar")
    p_rep.set_defaults(handler="guardopt.cli.reproduce_cmd")

    p_report = sub.add_parser(
        "report",
        help="write Markdown reports with tables and plots from a store",
        description="Write <out>/<name>.md per reproduction (claim, verdict with its evidence, "
        "mean ± standard error tables, notes, failed cells, PNG plots under <out>/figures/) and "
        "<out>/index.md. Reproductions without stored cells are listed as 'not run'.",
    )
    p_report.add_argument("names", nargs="*", metavar="NAME", help="reproductions (default: all)")
    p_report.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                          help=f"SQLite file holding the results, or a folder of exported evidence "
                               f"(*.jsonl.gz) (default {DEFAULT_STORE})")
    p_report.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                          help=f"output folder (default {DEFAULT_OUT})")
    p_report.add_argument("--scale", choices=("quick", "full"), default=None,
                          help="which stored scale to report (default: full when stored, else quick)")
    p_report.add_argument("--evidence", default=None, metavar="DIR",
                          help="also export the reported scale's stored cells to DIR/<name>.jsonl.gz "
                               "(the evidence committed beside reports/; --store DIR reads it back)")
    p_report.set_defaults(handler="guardopt.cli.report_cmd")

    p_study = sub.add_parser(
        "study",
        help="inspect stored studies",
        description="Inspect studies stored by guardopt.core.Study.",
    )
    study_sub = p_study.add_subparsers(dest="study_command", metavar="SUBCOMMAND")
    study_sub.required = True
    p_show = study_sub.add_parser("show", help="print the trials of a stored study",
                                  description="Print the trials of a stored study.")
    p_show.add_argument("name", metavar="NAME", help="the study's name")
    p_show.add_argument("--storage", required=True, metavar="URL",
                        help="where the study lives, e.g. sqlite:///studies.db")
    p_show.set_defaults(handler="guardopt.cli.study_cmd")
    p_ls = study_sub.add_parser("list", help="list the studies of a storage",
                                description="List the names of the studies in a storage.")
    p_ls.add_argument("--storage", required=True, metavar="URL",
                      help="where the studies live, e.g. sqlite:///studies.db")
    p_ls.set_defaults(handler="guardopt.cli.study_cmd")

    _add_audit_parser(sub)
    return parser


def _add_audit_parser(sub: Any) -> None:
    """Register ``guardopt audit`` on the sub-parser collection ``sub``."""
    p = sub.add_parser(
        "audit",
        help="audit a scored CSV: fairness metrics, threshold feasibility, multiplicity",
        description="Audit a CSV with a label, a group and a score column (or feature columns for a "
        "logistic model): every metric against its threshold, whether the decision thresholds can be met "
        "together (and the accuracy it costs), calibration vs equal error rates, and, with --features, the "
        "viable prediction ranges of near-optimal logistic models (predictive multiplicity).",
    )
    p.add_argument("csv", metavar="CSV", help="the data file (header row required)")
    p.add_argument("--label", required=True, metavar="COL", help="label column (0/1)")
    p.add_argument("--group", required=True, metavar="COL", help="group column (exactly two values)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--score", metavar="COL", help="score column (probabilities in [0, 1])")
    src.add_argument("--features", metavar="COLS", help="comma-separated feature columns: fit a logistic model")
    p.add_argument("--thresholds", default=DEFAULT_AUDIT_THRESHOLDS, metavar="M=T,...",
                   help=f"metric thresholds (default {DEFAULT_AUDIT_THRESHOLDS})")
    p.add_argument("--epsilon", type=float, default=0.01, help="level-set slack, fraction of the loss (default 0.01)")
    p.add_argument("--delta", type=float, default=0.1, help="ambiguity threshold (default 0.1)")
    p.add_argument("--points", type=int, default=20, help="points whose ranges are computed (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the point sample (default 0)")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON")
    p.set_defaults(handler="guardopt.cli.audit_cmd")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``guardopt`` command; returns the exit code."""
    # Before numpy or torch load anywhere: small kernels run many times slower with two threads on
    # 2-core machines, and worker processes inherit this environment.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    import importlib

    module = importlib.import_module(args.handler)
    code: int = module.run(args, parser)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
