"""How many torch threads a reproduction's cell uses.

Small torch networks run 8–15× slower with two threads than with one on a 2-core machine, so every
torch reproduction sets one thread by default (its ``torch_threads`` setting); the environment
variable ``GUARDOPT_TORCH_THREADS`` overrides it for a machine where more threads pay off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["torch_threads"]


def torch_threads(settings: Mapping[str, Any]) -> int:
    """``GUARDOPT_TORCH_THREADS`` if set, else ``settings["torch_threads"]`` (default 1)."""
    return int(os.environ.get("GUARDOPT_TORCH_THREADS", settings.get("torch_threads", 1)))
