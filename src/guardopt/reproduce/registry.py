"""Find every reproduction: each module of `guardopt.reproduce.papers` that defines ``REPRODUCTION``.

A paper module that fails to import (or defines something that is not a `Reproduction`) must not
hide the others: its error is kept in `Registry.errors` and shown by ``guardopt list`` and by the run
summary.
"""

from __future__ import annotations

import importlib
import pkgutil
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from guardopt.core.errors import GuardoptError
from guardopt.reproduce.spec import Reproduction

PAPERS_PACKAGE = "guardopt.reproduce.papers"


class UnknownReproductionError(GuardoptError, ValueError):
    """A reproduction name that the registry does not hold."""

    def __init__(self, unknown: Sequence[str], valid: Sequence[str]) -> None:
        self.unknown = list(unknown)
        self.valid = list(valid)
        names = ", ".join(valid) if valid else "(none)"
        super().__init__(f"Unknown reproduction(s): {', '.join(unknown)}. Valid names: {names}.")


@dataclass
class Registry:
    """Reproductions by name, and the modules that could not be loaded with their tracebacks."""

    reproductions: dict[str, Reproduction] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)  # reproduction name -> module name

    @property
    def names(self) -> list[str]:
        """Sorted names of the loaded reproductions."""
        return sorted(self.reproductions)

    def add(self, reproduction: Reproduction, module: str = "<explicit>") -> None:
        """Register one reproduction; a second one with the same name is an error of that module."""
        if reproduction.name in self.reproductions:
            self.errors[module] = (
                f"Reproduction name {reproduction.name!r} is already used by "
                f"{self.modules[reproduction.name]}."
            )
            return
        self.reproductions[reproduction.name] = reproduction
        self.modules[reproduction.name] = module

    def select(self, names: Iterable[str]) -> list[Reproduction]:
        """The named reproductions in the given order (duplicates dropped).

        Raises:
            UnknownReproductionError: When a name is not registered (the message lists valid names).
        """
        wanted = list(dict.fromkeys(names))
        unknown = [n for n in wanted if n not in self.reproductions]
        if unknown:
            raise UnknownReproductionError(unknown, self.names)
        return [self.reproductions[n] for n in wanted]

    def all(self) -> list[Reproduction]:
        """Every loaded reproduction, by name."""
        return [self.reproductions[n] for n in self.names]


def from_reproductions(reproductions: Iterable[Reproduction]) -> Registry:
    """A registry of explicitly given reproductions (tests, scripts), without discovery."""
    registry = Registry()
    for r in reproductions:
        registry.add(r)
    return registry


def discover(package: str = PAPERS_PACKAGE) -> Registry:
    """Import every module of ``package`` and collect the module-level ``REPRODUCTION`` objects.

    Args:
        package: Dotted name of the package to scan (one level, no sub-packages).

    Returns:
        A `Registry`; modules that raised on import, or whose ``REPRODUCTION`` is not a
        `Reproduction`, are listed in ``errors`` with their traceback instead of stopping the scan.
    """
    registry = Registry()
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.ispkg or info.name.startswith("_"):
            continue
        module_name = f"{package}.{info.name}"
        try:
            module = importlib.import_module(module_name)
        except Exception:  # a broken paper module must not hide the others
            registry.errors[module_name] = traceback.format_exc()
            continue
        repro = getattr(module, "REPRODUCTION", None)
        if repro is None:
            continue
        if not isinstance(repro, Reproduction):
            registry.errors[module_name] = (
                f"REPRODUCTION is a {type(repro).__name__}, not a guardopt.reproduce.Reproduction."
            )
            continue
        registry.add(repro, module_name)
    return registry
