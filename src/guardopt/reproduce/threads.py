"""How many torch threads a reproduction's cell uses.

Small torch networks run 8–15× slower with two threads than with one on a 2-core machine, so every
torch reproduction sets one thread by default (its ``torch_threads`` setting); the environment
variable ``GUARDOPT_TORCH_THREADS`` overrides it for a machine where more threads pay off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from guardopt.core.errors import InvalidParameterError

__all__ = ["torch_threads"]


def torch_threads(settings: Mapping[str, Any]) -> int:
    """``GUARDOPT_TORCH_THREADS`` if set, else ``settings["torch_threads"]`` (default 1).

    Raises:
        InvalidParameterError: When the value is not a positive whole number.
    """
    raw = os.environ.get("GUARDOPT_TORCH_THREADS", settings.get("torch_threads", 1))
    try:
        n = int(raw)
    except (TypeError, ValueError):
        n = 0
    if isinstance(raw, bool) or n < 1 or (isinstance(raw, float) and raw != n):
        raise InvalidParameterError("torch_threads", "torch_threads", "a positive whole number "
                                    "(setting or GUARDOPT_TORCH_THREADS)", raw)
    return n
