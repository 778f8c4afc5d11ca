"""Reproductions of the seed papers' claims: declared grids, a resumable runner, computed verdicts.

* `Reproduction` and its parts (`guardopt.reproduce.spec`): what a paper claims, the grid of cells
  that tests it, and the verdict computed from stored numbers.
* `discover` / `from_reproductions` (`registry`): find the registered reproductions
  (``guardopt.reproduce.papers.*``) or wrap a list of them.
* `run` (`runner`): run grids at one scale, resuming from a `ResultStore` (`store`, SQLite).
* `write_reports` (`report`): Markdown reports and figures from the stored numbers.
"""

from guardopt.reproduce.registry import UnknownReproductionError, discover, from_reproductions
from guardopt.reproduce.report import write_reports
from guardopt.reproduce.runner import run
from guardopt.reproduce.spec import (
    Cell,
    CellResult,
    Evidence,
    Paper,
    Record,
    Reproduction,
    Results,
    Scale,
    Status,
    Verdict,
)
from guardopt.reproduce.store import ResultStore

__all__ = [
    "Cell",
    "CellResult",
    "Evidence",
    "Paper",
    "Record",
    "Reproduction",
    "ResultStore",
    "Results",
    "Scale",
    "Status",
    "UnknownReproductionError",
    "Verdict",
    "discover",
    "from_reproductions",
    "run",
    "write_reports",
]
