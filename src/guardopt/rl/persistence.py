"""Saving and loading learners without unpickling arbitrary objects.

`torch.load(weights_only=False)` runs any code a file asks for, so a checkpoint from someone else
could execute on load. Learners therefore save only tensors and plain Python values (numpy arrays
become tensors, numpy scalars Python numbers) and load with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from guardopt.core.errors import InvalidParameterError

__all__ = ["load_state", "save_state"]


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays as tensors and numpy scalars as Python numbers, recursively."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def save_state(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` in a form that `load_state` reads with ``weights_only=True``."""
    torch.save(_plain(state), Path(path))
    return Path(path)


def load_state(path: str | Path, owner: str) -> dict[str, Any]:
    """Read what `save_state` wrote; refuses a missing file or one that is not a weights-only checkpoint."""
    if not Path(path).is_file():
        raise InvalidParameterError("path", owner, "an existing file saved by save", str(path))
    try:
        state = torch.load(Path(path), weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError or EOFError, by version and file
        raise InvalidParameterError("path", owner, "a file saved by save (a weights-only torch checkpoint)",
                                    f"{path} ({type(exc).__name__})") from exc
    if not isinstance(state, dict):
        raise InvalidParameterError("path", owner, "a file saved by save", type(state).__name__)
    return state
