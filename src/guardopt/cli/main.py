"""Entry point of the ``guardopt`` command.

Only `argparse` is imported here, so ``guardopt <command> --help`` answers at once; each command's
module (and numpy, matplotlib, rich) is imported when the command runs.

Exit codes: 0 when the work was done (whatever the verdicts say: a claim that FAILS is a result,
not an error), 1 on errors (a cell or a verdict that raised, a reproduction module that does not
import, a store that cannot be read), 2 on usage errors (unknown names, bad options).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

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


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<got>[^']*)' \(choose from (?P<choices>.*)\)")


def suggest(got: str, options: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``options`` (difflib), or ``""`` when none is close."""
    close = difflib.get_close_matches(got, list(options), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


class Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose usage errors suggest the closest valid name."""

    def error(self, message: str) -> NoReturn:
        m = _INVALID_CHOICE.search(message)
        if m:
            choices = re.findall(r"'([^']*)'", m.group("choices"))
            hint = suggest(m.group("got"), choices)
            message += f".{hint}" if hint else ""
        super().error(message)

    #: The top-level command names, so that ``reproduce --list`` points at ``guardopt list``
    #: rather than at the nearest spelling of one of ``reproduce``'s own options.
    commands: tuple[str, ...] = ()

    def error_unrecognized(self, extras: Sequence[str]) -> NoReturn:
        """Refuse unknown options with this (sub)command's usage and the closest known option."""
        known = [o for a in self._actions for o in a.option_strings]
        hints = "".join(self._hint(e.split("=", 1)[0], known) for e in extras if e.startswith("-"))
        self.error(f"unrecognized arguments: {' '.join(extras)}.{hints}".replace("..", "."))

    def _hint(self, option: str, known: Sequence[str]) -> str:
        name = option.lstrip("-")
        if name in self.commands and option not in known:
            return f" {name!r} is a command: run 'guardopt {name}'."
        return suggest(option, known)


class _Version(argparse.Action):
    """``--version``: imports guardopt only when asked (``--help`` stays instant)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the guardopt version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        import guardopt

        sys.stdout.write(f"guardopt {guardopt.__version__}\n")
        parser.exit()


def _leaf(p: argparse.ArgumentParser, handler: str) -> None:
    # Each command's own parser travels with the parsed arguments, so that an unknown option is
    # answered with that command's usage rather than the top-level one.
    p.set_defaults(handler=handler, command_parser=p)


def build_parser() -> Parser:
    """The parser of every command (no heavy imports)."""
    parser = Parser(
        prog="guardopt",
        description="Optimization under uncertainty that stays safe: reproduce the seed papers' "
        "claims, write reports, inspect stored studies.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p_list = sub.add_parser(
        "list",
        help="list the reproductions (paper, claim, methods) and the problems",
        description="List every reproduction (paper, claim, tasks, methods, scales), the modules "
        "that failed to import, and the problem modules with their public names.",
    )
    _leaf(p_list, "guardopt.cli.list_cmd")

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
    p_rep.add_argument("--address", default=None, metavar="ADDR",
                       help="address of an existing Ray ('auto', 'ray://host:10001') or Dask ('tcp://host:8786') "
                       "cluster (with --executor ray or dask)")
    p_rep.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                       help=f"SQLite file holding the results (default {DEFAULT_STORE})")
    p_rep.add_argument("--force", action="store_true",
                       help="recompute cells even when they are stored (replaces them)")
    p_rep.add_argument("--no-progress", dest="progress", action="store_false",
                       help="no progress bar")
    _leaf(p_rep, "guardopt.cli.reproduce_cmd")

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
    _leaf(p_report, "guardopt.cli.report_cmd")

    p_study = sub.add_parser(
        "study",
        help="inspect, export, plot or delete stored studies",
        description="Inspect, export, plot or delete studies stored by guardopt.Study.",
    )
    study_sub = p_study.add_subparsers(dest="study_command", metavar="SUBCOMMAND")
    study_sub.required = True
    storage_help = "where the study lives, e.g. sqlite:///studies.db"
    p_show = study_sub.add_parser(
        "show", help="print a stored study's trials as a table",
        description="Print a stored study's trials as a table: state, value, whether each trial is feasible, "
        "the best feasible value so far (the best trial starred), parameters and constraint values.")
    p_show.add_argument("name", metavar="NAME", help="the study's name")
    p_show.add_argument("--storage", required=True, metavar="URL", help=storage_help)
    p_show.add_argument("--last", type=_positive_int, default=None, metavar="N",
                        help="show only the last N trials (the summary still counts all)")
    _leaf(p_show, "guardopt.cli.study_cmd")
    p_ls = study_sub.add_parser("list", help="list the studies of a storage",
                                description="List the studies of a storage with their trial counts.")
    p_ls.add_argument("--storage", required=True, metavar="URL", help="where the studies live, e.g. "
                      "sqlite:///studies.db")
    _leaf(p_ls, "guardopt.cli.study_cmd")
    p_export = study_sub.add_parser(
        "export", help="write a stored study's trials as CSV or JSON",
        description="Write a stored study's trials as CSV (one row per trial; params_*, constraints_* and "
        "user_attrs_* columns) or JSON (the problem and every trial), to a file or to standard output.")
    p_export.add_argument("name", metavar="NAME", help="the study's name")
    p_export.add_argument("--storage", required=True, metavar="URL", help=storage_help)
    p_export.add_argument("--format", choices=("csv", "json"), default=None,
                          help="output format (default: from the --out suffix, else csv)")
    p_export.add_argument("--out", default=None, metavar="FILE", help="output file (default: standard output)")
    _leaf(p_export, "guardopt.cli.study_cmd")
    p_delete = study_sub.add_parser(
        "delete", help="delete a stored study and its trials",
        description="Delete a stored study and all its trials from the storage. Asks for confirmation "
        "unless --yes is given (required when standard input is not a terminal).")
    p_delete.add_argument("name", metavar="NAME", help="the study's name")
    p_delete.add_argument("--storage", required=True, metavar="URL", help=storage_help)
    p_delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _leaf(p_delete, "guardopt.cli.study_cmd")
    p_plot = study_sub.add_parser(
        "plot", help="write a stored study's plots (PNG) and their tables (CSV)",
        description="Write the plots of guardopt.viz for a stored study to DIR: optimization history, "
        "parameter importance, slice, contour, parallel coordinates, constraints against their limits and "
        "the Pareto front, each as <plot>.png with its data as <plot>.csv. Plots that do not apply (no "
        "constraints, a single objective) are skipped with the reason.")
    p_plot.add_argument("name", metavar="NAME", help="the study's name")
    p_plot.add_argument("--storage", required=True, metavar="URL", help=storage_help)
    p_plot.add_argument("--out", required=True, metavar="DIR", help="output folder (created when missing)")
    p_plot.add_argument("--dpi", type=_positive_int, default=110, metavar="N", help="PNG resolution (default 110)")
    p_plot.add_argument("--importance", choices=("auto", "fanova", "permutation"), default="auto",
                        help="parameter importance method: Optuna's fANOVA, scikit-learn's permutation importance, "
                        "or auto (fANOVA when Optuna is installed; default)")
    _leaf(p_plot, "guardopt.cli.study_cmd")
    p_copy = study_sub.add_parser(
        "copy", help="copy a stored study to another storage (e.g. SQLite -> PostgreSQL)",
        description="Copy a study and all its trials (numbers, results, intermediate values) from one storage "
        "to another, for example from sqlite:///studies.db to postgresql+psycopg://user@host/db. The source "
        "is only read; the target must not hold a study of that name yet.")
    p_copy.add_argument("name", metavar="NAME", help="the study's name in the source")
    p_copy.add_argument("--from", dest="source", required=True, metavar="URL", help="the storage holding the study")
    p_copy.add_argument("--to", dest="target", required=True, metavar="URL", help="the storage to copy into")
    p_copy.add_argument("--as", dest="new_name", default=None, metavar="NEW",
                        help="the study's name in the target (default: NAME)")
    _leaf(p_copy, "guardopt.cli.study_copy_cmd")

    p_dash = sub.add_parser(
        "dashboard",
        help="serve a read-only web page of a storage's studies and the reproduction verdicts",
        description="Serve a read-only page (127.0.0.1 by default) showing the studies of a storage: per study "
        "the optimization history with feasible and infeasible trials, constraint values against their limits, "
        "the pessimistic (certified) recommendation, parameter importance and a trial table, refreshed while the "
        "study runs; and the verdict table of a reports folder with a link to each report. Nothing is written "
        "to the storage.")
    p_dash.add_argument("--storage", required=True, metavar="URL",
                        help="where the studies live, e.g. sqlite:///studies.db or "
                        "postgresql+psycopg://user@host/db (opened read-only)")
    p_dash.add_argument("--reports", default=None, metavar="DIR",
                        help="a folder written by `guardopt report` (default: ./reports when it has an index.md)")
    p_dash.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                        help="address to bind (default 127.0.0.1: this machine only)")
    p_dash.add_argument("--port", type=_port, default=8765, metavar="P", help="port (default 8765; 0: any free one)")
    p_dash.add_argument("--refresh", type=_positive_float, default=2.0, metavar="S",
                        help="seconds between the page's refreshes (default 2)")
    p_dash.add_argument("--importance", choices=("auto", "fanova", "permutation"), default="auto",
                        help="parameter importance method (default auto: fANOVA when Optuna is installed)")
    _leaf(p_dash, "guardopt.cli.dashboard_cmd")

    _add_audit_parser(sub)
    commands = tuple(sub.choices)
    for p in _parsers(parser):
        p.commands = commands
    return parser


def _parsers(parser: Parser) -> list[Parser]:
    """``parser`` and every (nested) sub-command parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if isinstance(child, Parser):
                    found.extend(_parsers(child))
    return found


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
    _leaf(p, "guardopt.cli.audit_cmd")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``guardopt`` command; returns the exit code."""
    # Before numpy or torch load anywhere: small kernels run many times slower with two threads on
    # 2-core machines, and worker processes inherit this environment.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        leaf = getattr(args, "command_parser", None)
        (leaf if isinstance(leaf, Parser) else parser).error_unrecognized(extras)
    import importlib

    module = importlib.import_module(args.handler)
    code: int = module.run(args, parser)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
