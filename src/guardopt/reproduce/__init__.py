"""Reproductions of the seed papers' claims: declared grids, a resumable runner, computed verdicts."""

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

__all__ = [
    "Cell",
    "CellResult",
    "Evidence",
    "Paper",
    "Record",
    "Reproduction",
    "Results",
    "Scale",
    "Status",
    "Verdict",
]
