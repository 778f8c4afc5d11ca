"""guardopt.dashboard: a read-only web page of the studies in a storage and the reproduction verdicts.

``guardopt dashboard --storage URL [--reports DIR] [--port P]`` (or `Dashboard` / `serve` from
Python) serves, on 127.0.0.1 by default:

* the studies of a storage (SQLite or a database server), and for one study: the optimization
  history with feasible and infeasible trials, each constraint's values against its limit, the
  pessimistic (certified) recommendation, parameter importance and a trial table, refreshed while
  the study runs (the page polls JSON routes);
* the verdict table of a reports folder (``guardopt report``'s ``index.md``) with each report.

The data are `guardopt.viz`'s tables (`guardopt.dashboard.data`); the server is the standard
library's (`guardopt.dashboard.server` says why); the storage is opened read-only
(`guardopt.dashboard.source`). Nothing here is imported by ``import guardopt``.
"""

from guardopt.dashboard.data import certified_recommendation, model_payload, studies_payload, study_payload
from guardopt.dashboard.reports import ReportsDir, VerdictTable
from guardopt.dashboard.server import Dashboard, serve
from guardopt.dashboard.source import ReadOnlySQLiteStorage, ReadOnlyStorage, open_read_only

__all__ = [
    "Dashboard",
    "ReadOnlySQLiteStorage",
    "ReadOnlyStorage",
    "ReportsDir",
    "VerdictTable",
    "certified_recommendation",
    "model_payload",
    "open_read_only",
    "serve",
    "studies_payload",
    "study_payload",
]
