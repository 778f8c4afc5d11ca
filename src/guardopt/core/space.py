"""Search spaces of named parameters, and their encoding to the unit cube.

Optimizers work on the encoded unit cube: a `Real` or `Integer` takes one column (log-scaled when
``log=True``), a `Choice` one column per option (one-hot). `Space.decode` maps any point of the cube
back to valid parameters (integers rounded, a choice's block read by argmax).

Conditional parameters: any parameter may carry ``when={"parent": [values]}`` (several parents: all
must hold). It is *active* only when every parent is active and takes one of the listed values; a
parent is a `Choice` or an `Integer` and may itself be conditional (nested conditions). Inactive
parameters are absent from a parameter dict: `Space.validate` rejects them, `decode`, `sample` and
`sobol` leave them out. In the encoding an inactive parameter's columns hold a fixed fill (0.5 for a
`Real` or `Integer`, an all-zero block for a `Choice`), which is no value of the parameter; models
that must tell "inactive" from a value read `Space.active_names` (the GP embeds the columns, see
`guardopt.bo.encoding`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array
from guardopt.core.seeding import SeedLike, make_rng

Params = dict[str, Any]
# More points than any list of parameter dicts can hold; beyond it numpy fails with its own error.
_MAX_POINTS = 2**31
# Normalized conditions: ((parent, (allowed values, ...)), ...), hashable and ordered as given.
Conditions = tuple[tuple[str, tuple[Any, ...]], ...]
# The value an inactive Real / Integer column takes in the encoding (a Choice's block is all zeros).
INACTIVE_FILL = 0.5


def _normalize_when(when: Any, owner: str) -> Conditions | None:
    """Check a ``when`` argument and return it as a tuple of ``(parent, values)`` pairs (or None)."""
    if when is None:
        return None
    if isinstance(when, tuple) and all(isinstance(c, tuple) and len(c) == 2 for c in when):
        when = dict(when)  # already normalized (a copy or a round trip)
    if not isinstance(when, Mapping) or not when:
        raise InvalidParameterError("when", owner, "a non-empty mapping of parent name -> allowed values", when)
    out = []
    for parent, values in when.items():
        if not isinstance(parent, str) or not parent:
            raise InvalidParameterError("when", owner, "parent names that are non-empty strings", parent)
        if isinstance(values, (set, frozenset)):
            # No fixed order (string hashes are salted per process): the stored space would differ.
            raise InvalidParameterError(f"when[{parent!r}]", owner, "a list or tuple of allowed values", values)
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable) or isinstance(values, Mapping):
            vals: tuple[Any, ...] = (values,)  # one value: when={"kernel": "rbf"}
        else:
            vals = tuple(values)
        if not vals:
            raise InvalidParameterError(f"when[{parent!r}]", owner, "a non-empty list of allowed values",
                                        values)
        out.append((parent, vals))
    return tuple(out)


def _repr(kind: str, args: list[str], when: Any) -> str:
    when = _normalize_when(when, kind)
    if when is not None:
        args.append(f"when={dict((k, list(v)) for k, v in when)!r}")
    return f"{kind}({', '.join(args)})"


@dataclass(frozen=True, repr=False)
class Real:
    """A real parameter in ``[low, high]``, optionally on a log scale.

    ``when={"parent": [values]}`` makes it conditional (see the module docstring).
    """

    low: float
    high: float
    log: bool = False
    when: Conditions | Mapping[str, Any] | None = field(default=None, compare=True)

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.log, "Real")
        object.__setattr__(self, "when", _normalize_when(self.when, "Real"))

    def __repr__(self) -> str:
        return _repr("Real", [f"low={self.low!r}", f"high={self.high!r}", f"log={self.log!r}"], self.when)

    @property
    def conditions(self) -> dict[str, tuple[Any, ...]]:
        """``when`` as a dict ``parent -> allowed values`` (empty for an unconditional parameter)."""
        return dict(_normalize_when(self.when, "conditions") or ())

    @property
    def width(self) -> int:
        return 1

    def encode(self, value: Any) -> np.ndarray:
        x = float(value)
        return np.array([_to_unit(x, self.low, self.high, self.log)])

    def decode(self, u: np.ndarray) -> float:
        return float(np.clip(_from_unit(float(u[0]), self.low, self.high, self.log), self.low, self.high))

    def contains(self, value: Any) -> bool:
        return _is_real(value) and self.low <= float(value) <= self.high


@dataclass(frozen=True, repr=False)
class Integer:
    """An integer parameter in ``[low, high]`` (both included), optionally on a log scale.

    ``when={"parent": [values]}`` makes it conditional (see the module docstring).
    """

    low: int
    high: int
    log: bool = False
    when: Conditions | Mapping[str, Any] | None = field(default=None, compare=True)

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise InvalidParameterError(name, "Integer", "an integer", v)
        _check_bounds(self.low, self.high, self.log, "Integer")
        object.__setattr__(self, "when", _normalize_when(self.when, "Integer"))

    def __repr__(self) -> str:
        return _repr("Integer", [f"low={self.low!r}", f"high={self.high!r}", f"log={self.log!r}"], self.when)

    @property
    def conditions(self) -> dict[str, tuple[Any, ...]]:
        """``when`` as a dict ``parent -> allowed values`` (empty for an unconditional parameter)."""
        return dict(_normalize_when(self.when, "conditions") or ())

    @property
    def width(self) -> int:
        return 1

    def encode(self, value: Any) -> np.ndarray:
        # Integers are encoded over [low - 0.5, high + 0.5] so that every integer owns an equal
        # share of the unit interval and rounding after decoding is unbiased.
        lo, hi = self.low - 0.5, self.high + 0.5  # low >= 1 when log=True, so lo > 0
        return np.array([_to_unit(float(value), lo, hi, self.log)])

    def decode(self, u: np.ndarray) -> int:
        # With log=True this is log-uniform over [low - 0.5, high + 0.5] then rounded (Optuna's
        # convention): integer k owns a share proportional to log((k + 0.5) / (k - 0.5)).
        lo, hi = self.low - 0.5, self.high + 0.5
        x = _from_unit(float(u[0]), lo, hi, self.log)
        return int(min(max(round(x), self.low), self.high))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, np.integer)):
            return self.low <= int(value) <= self.high
        return False


@dataclass(frozen=True, repr=False)
class Choice:
    """A categorical parameter taking one of ``options`` (encoded one-hot).

    ``when={"parent": [values]}`` makes it conditional (see the module docstring).
    """

    options: tuple[Any, ...]
    when: Conditions | Mapping[str, Any] | None = None

    def __init__(self, options: Sequence[Any], when: Mapping[str, Any] | Conditions | None = None) -> None:
        # A string is a sequence of its characters and a set or a mapping has no fixed order
        # (string hashes are salted per process): none of them is a list of options.
        if isinstance(options, (str, bytes, Mapping, set, frozenset)) or not isinstance(options, Iterable):
            raise InvalidParameterError("options", "Choice", "a list or tuple of options", options)
        opts = tuple(options)
        if len(opts) == 0:
            raise InvalidParameterError("options", "Choice", "a non-empty sequence", list(options))
        if any(isinstance(o, float) and math.isnan(o) for o in opts):
            raise InvalidParameterError("options", "Choice", "options without NaN (NaN never equals itself)",
                                        list(options))
        if not _distinct(opts):
            # 1 == 1.0 == True: options that compare equal could never all be chosen (encode finds
            # the first) and would merge after a storage round trip.
            raise InvalidParameterError("options", "Choice", "distinct values (no two comparing equal)",
                                        list(options))
        object.__setattr__(self, "options", opts)
        object.__setattr__(self, "when", _normalize_when(when, "Choice"))

    def __repr__(self) -> str:
        return _repr("Choice", [f"options={self.options!r}"], self.when)

    @property
    def conditions(self) -> dict[str, tuple[Any, ...]]:
        """``when`` as a dict ``parent -> allowed values`` (empty for an unconditional parameter)."""
        return dict(_normalize_when(self.when, "conditions") or ())

    @property
    def width(self) -> int:
        return len(self.options)

    def encode(self, value: Any) -> np.ndarray:
        out = np.zeros(len(self.options))
        out[self.options.index(value)] = 1.0
        return out

    def decode(self, u: np.ndarray) -> Any:
        return self.options[int(np.argmax(u))]

    def contains(self, value: Any) -> bool:
        try:
            return value in self.options
        except (TypeError, ValueError):  # e.g. an array compared element-wise
            return False


Parameter = Real | Integer | Choice


class Space:
    """An ordered set of named parameters.

    Example:
        >>> import guardopt as go
        >>> space = go.Space({"x": go.Real(-5, 5), "k": go.Choice(["a", "b"])})
        >>> space.dim
        3
        >>> space.decode(space.encode({"x": 0.0, "k": "b"}))
        {'x': 0.0, 'k': 'b'}
    """

    def __init__(self, params: Mapping[str, Parameter]) -> None:
        if not isinstance(params, Mapping) or not params:
            raise InvalidParameterError("params", "Space", "a non-empty mapping of name -> parameter", params)
        for name, p in params.items():
            if not isinstance(name, str) or not name:
                raise InvalidParameterError("params", "Space", "parameter names that are non-empty strings", name)
            if not isinstance(p, (Real, Integer, Choice)):
                raise InvalidParameterError(
                    f"params[{name!r}]", "Space", "a Real, Integer or Choice", p
                )
        self.params: dict[str, Parameter] = dict(params)
        self._slices: dict[str, slice] = {}
        start = 0
        for name, p in self.params.items():
            self._slices[name] = slice(start, start + p.width)
            start += p.width
        self.dim = start
        self._conditions: dict[str, dict[str, tuple[Any, ...]]] = {
            name: p.conditions for name, p in self.params.items() if p.when is not None}
        self._check_conditions()
        # Parents before children, otherwise the declared order (activity is decided in this order).
        self._order = self._topological_order()

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"Space({self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.params == other.params

    __hash__ = None  # type: ignore[assignment]

    @property
    def names(self) -> list[str]:
        """Parameter names in order."""
        return list(self.params)

    def slice_of(self, name: str) -> slice:
        """The columns of the encoded vector that belong to parameter ``name``."""
        return self._slices[name]

    # -- conditional parameters -------------------------------------------------------------------

    @property
    def is_conditional(self) -> bool:
        """Whether any parameter carries a ``when`` condition."""
        return bool(self._conditions)

    def conditions_of(self, name: str) -> dict[str, tuple[Any, ...]]:
        """Parameter ``name``'s conditions, ``parent -> allowed values`` (empty when unconditional)."""
        return dict(self._conditions.get(name, {}))

    @property
    def order(self) -> list[str]:
        """Parameter names with every parent before its children (declared order otherwise)."""
        return list(self._order)

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether parameter ``name`` is active given the values in ``params``.

        A parameter is active when each of its parents is active, present in ``params`` and takes
        one of the allowed values. Unconditional parameters are always active.
        """
        if name not in self.params:
            raise InvalidParameterError("name", "Space.is_active", f"one of {self.names}", name)
        return name in self.active_names(params)

    def active_names(self, params: Mapping[str, Any]) -> list[str]:
        """Names of the parameters active given the values in ``params``, in the space's order.

        ``params`` may be partial (a parent missing from it counts as inactive, so its children are
        inactive too); values are not checked against their domains here (`validate` does that).
        """
        active: set[str] = set()
        for name in self._order:
            if self._condition_holds(name, params, active):
                active.add(name)
        return [n for n in self.params if n in active]

    def _condition_holds(self, name: str, params: Mapping[str, Any], active: set[str]) -> bool:
        for parent, values in self._conditions.get(name, {}).items():
            if parent not in active or parent not in params:
                return False
            if not _member(params[parent], values):
                return False
        return True

    def _check_conditions(self) -> None:
        for name, conds in self._conditions.items():
            for parent, values in conds.items():
                where = f"params[{name!r}].when"
                if parent == name:
                    raise InvalidParameterError(where, "Space", "conditions on other parameters (not on itself)",
                                                parent)
                if parent not in self.params:
                    raise InvalidParameterError(where, "Space", f"conditions on parameters of the space {self.names}",
                                                parent)
                pp = self.params[parent]
                if isinstance(pp, Real):
                    raise InvalidParameterError(where, "Space",
                                                f"conditions on a Choice or Integer parameter ({parent!r} is a Real)",
                                                parent)
                outside = [v for v in values if not pp.contains(v)]
                if outside:
                    raise InvalidParameterError(f"{where}[{parent!r}]", "Space",
                                                f"values of {parent!r}, which lie in {pp!r}", list(outside))

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1: on the current path, 2: done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = [*path[path.index(name):], name]
                raise InvalidParameterError(f"params[{name!r}].when", "Space", "conditions without a cycle",
                                            " -> ".join(cycle))
            state[name] = 1
            for parent in self._conditions.get(name, {}):
                visit(parent, [*path, name])
            state[name] = 2
            order.append(name)

        for name in self.params:
            visit(name, [])
        return order

    def validate(self, params: Mapping[str, Any]) -> Params:
        """Check that ``params`` has exactly this space's names with values inside it.

        Returns:
            The parameters in the space's order, reals as ``float`` and integers as ``int``.

        Raises:
            InputDataError: naming the parameter, what was expected and what was given.
        """
        if not isinstance(params, Mapping):
            raise InputDataError(f"The 'params' argument must be a mapping of name -> value. Got {params!r} instead.")
        if self._conditions:
            return self._validate_conditional(params)
        missing = [n for n in self.params if n not in params]
        extra = [n for n in params if n not in self.params]
        if missing or extra:
            raise InputDataError(
                f"The 'params' argument must have exactly the names {self.names}. "
                f"Got {sorted(map(str, params))} instead (missing {missing}, unexpected {extra})."
            )
        for name, p in self.params.items():
            v = params[name]
            if not p.contains(v):
                raise InputDataError(f"The 'params' argument's {name!r} must lie in {p!r}. Got {v!r} instead.")
        # Plain Python numbers, whatever the optimizer produced (np.float64, np.int64): trials look
        # the same in memory and after a round trip through a storage.
        return {n: _plain(p, params[n]) for n, p in self.params.items()}

    def _validate_conditional(self, params: Mapping[str, Any]) -> Params:
        extra = [n for n in params if n not in self.params]
        if extra:
            raise InputDataError(
                f"The 'params' argument must have names among {self.names}. "
                f"Got {sorted(map(str, params))} instead (unexpected {extra})."
            )
        active: set[str] = set()
        for name in self._order:
            p = self.params[name]
            if self._condition_holds(name, params, active):
                if name not in params:
                    raise InputDataError(
                        f"The 'params' argument must have the active parameter {name!r}"
                        f"{self._why(name, params)}. Got {sorted(map(str, params))} instead.")
                v = params[name]
                if not p.contains(v):
                    raise InputDataError(f"The 'params' argument's {name!r} must lie in {p!r}. Got {v!r} instead.")
                active.add(name)
            elif name in params:
                raise InputDataError(
                    f"The 'params' argument's {name!r} is inactive (it applies only when "
                    f"{self._when_text(name)}{self._why(name, params)}) and must be left out. "
                    f"Got {params[name]!r} instead.")
        return {n: _plain(p, params[n]) for n, p in self.params.items() if n in active}

    def _when_text(self, name: str) -> str:
        return " and ".join(f"{k} is in {list(v)}" for k, v in self._conditions.get(name, {}).items())

    def _why(self, name: str, params: Mapping[str, Any]) -> str:
        parents = self._conditions.get(name, {})
        if not parents:
            return ""
        shown = ", ".join(f"{k}={params[k]!r}" if k in params else f"{k} absent" for k in parents)
        return f"; here {shown}"

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Encode parameters to a point of the unit cube, shape ``(dim,)``.

        An inactive parameter's columns hold `INACTIVE_FILL` (a `Real` or `Integer`) or zeros (a
        `Choice`).
        """
        checked = self.validate(params)
        return np.concatenate([p.encode(checked[n]) if n in checked else _fill(p) for n, p in self.params.items()])

    def decode(self, u: np.ndarray) -> Params:
        """Decode a point of the unit cube (shape ``(dim,)``) to valid parameters."""
        arr = as_float_array(u, "u", "Space.decode")
        if arr.shape != (self.dim,):
            raise InputDataError(
                f"The 'u' argument of Space.decode must be an encoded point of shape ({self.dim},). "
                f"Got shape {arr.shape} instead."
            )
        arr = np.clip(np.nan_to_num(arr, nan=0.5), 0.0, 1.0)
        if not self._conditions:
            return {n: p.decode(arr[self._slices[n]]) for n, p in self.params.items()}
        out: Params = {}
        active: set[str] = set()
        for name in self._order:
            if self._condition_holds(name, out, active):
                out[name] = self.params[name].decode(arr[self._slices[name]])
                active.add(name)
        return {n: out[n] for n in self.params if n in active}

    def sample(self, n: int, seed: SeedLike = None) -> list[Params]:
        """Draw ``n`` parameter sets uniformly (in the encoded scale: log-uniform where ``log=True``)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= _MAX_POINTS:
            raise InvalidParameterError("n", "Space.sample", f"an integer in [0, {_MAX_POINTS}]", n)
        rng = make_rng(seed, "Space.sample")
        return [self.decode(u) for u in self._random_cube(n, rng)]

    def _random_cube(self, n: int, rng: np.random.Generator) -> np.ndarray:
        u = rng.random((n, self.dim))
        # A Choice's block is a uniform draw of one option, not a random vector.
        for name, p in self.params.items():
            if isinstance(p, Choice):
                s = self._slices[name]
                block = np.zeros((n, p.width))
                block[np.arange(n), rng.integers(0, p.width, n)] = 1.0
                u[:, s] = block
        return u

    def sobol(self, n: int, seed: int | None = None) -> list[Params]:
        """A scrambled Sobol design of ``n`` points over the parameters (one Sobol column each).

        An `Integer` column is decoded like any point (so integers are spread evenly in the encoded
        scale); a `Choice` column picks option ``floor(u * n_options)``, so options are balanced too.
        The first ``2**m >= n`` points of the sequence are drawn and the first ``n`` kept.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= _MAX_POINTS:
            raise InvalidParameterError("n", "Space.sobol", f"an integer in [0, {_MAX_POINTS}]", n)
        if n == 0:
            return []
        from scipy.stats import qmc  # scipy.stats takes ~1 s to import; only designs need it

        sampler = qmc.Sobol(d=len(self.params), scramble=True, seed=seed)
        m = math.ceil(math.log2(max(n, 2)))
        pts = sampler.random_base2(m)[:n]
        out = []
        for row in pts:
            u = np.zeros(self.dim)
            for j, (name, p) in enumerate(self.params.items()):
                s = self._slices[name]
                if isinstance(p, Choice):
                    u[s.start + min(int(row[j] * p.width), p.width - 1)] = 1.0
                else:
                    u[s] = row[j]
            out.append(self.decode(u))
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description (for storages)."""
        out: dict[str, Any] = {}
        for name, p in self.params.items():
            if isinstance(p, Real):
                out[name] = {"type": "real", "low": p.low, "high": p.high, "log": p.log}
            elif isinstance(p, Integer):
                out[name] = {"type": "integer", "low": int(p.low), "high": int(p.high), "log": p.log}
            else:
                out[name] = {"type": "choice", "options": list(p.options)}
            if p.when is not None:
                out[name]["when"] = {k: list(v) for k, v in p.conditions.items()}
        return out

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Space:
        """Inverse of `to_dict`.

        Raises:
            InvalidParameterError: ``data`` is not such a description (naming the entry).
        """
        if not isinstance(data, Mapping):
            raise InvalidParameterError("data", "Space.from_dict", "a mapping of name -> parameter description",
                                        data)
        needs = {"real": ("low", "high"), "integer": ("low", "high"), "choice": ("options",)}
        params: dict[str, Parameter] = {}
        for name, d in data.items():
            kind = d.get("type") if isinstance(d, Mapping) else None
            if not isinstance(kind, str) or kind not in needs:
                raise InvalidParameterError(f"data[{name!r}]['type']", "Space.from_dict",
                                            "one of 'real', 'integer', 'choice'", kind)
            missing = [k for k in needs[kind] if k not in d]
            if missing:
                raise InvalidParameterError(f"data[{name!r}]", "Space.from_dict",
                                            f"a {kind} description with {missing}", d)
            when = d.get("when")
            if kind == "real":
                params[name] = Real(d["low"], d["high"], bool(d.get("log", False)), when=when)
            elif kind == "integer":
                params[name] = Integer(d["low"], d["high"], bool(d.get("log", False)), when=when)
            else:
                params[name] = Choice(d["options"], when=when)
        return Space(params)


def _fill(p: Parameter) -> np.ndarray:
    return np.zeros(p.width) if isinstance(p, Choice) else np.array([INACTIVE_FILL])


def _member(value: Any, values: tuple[Any, ...]) -> bool:
    # Equality as a Choice tests it, but 1 is not True: a bool parent value matches only bools.
    for v in values:
        try:
            if isinstance(v, bool) != isinstance(value, bool):
                continue
            if bool(v == value):
                return True
        except (TypeError, ValueError):
            continue
    return False


def _plain(p: Parameter, value: Any) -> Any:
    if isinstance(p, Integer):
        return int(value)
    if isinstance(p, Real):
        return float(value)
    return value


def _is_real(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return math.isfinite(float(value))
        except OverflowError:  # an int beyond float64
            return False
    return False


def _distinct(options: tuple[Any, ...]) -> bool:
    if len(set(map(repr, options))) != len(options):
        return False
    for i, a in enumerate(options):
        for b in options[i + 1:]:
            try:
                same = bool(a == b)
            except (TypeError, ValueError):  # e.g. arrays compared element-wise
                same = False
            if same:
                return False
    return True


def _check_bounds(low: Any, high: Any, log: bool, owner: str) -> None:
    if not _is_real(low):
        raise InvalidParameterError("low", owner, "a finite number", low)
    if not _is_real(high):
        raise InvalidParameterError("high", owner, "a finite number", high)
    if not float(high) > float(low):
        raise InvalidParameterError("high", owner, f"greater than low={low!r}", high)
    if not math.isfinite(float(high) - float(low)):
        # Real(-1e308, 1e308): the width overflows, every sample decodes to an end and encode is NaN.
        raise InvalidParameterError("high", owner, f"such that high - low is finite (low={low!r})", high)
    if log and float(low) <= 0:
        raise InvalidParameterError("low", owner, "> 0 when log=True", low)


def _to_unit(x: float, low: float, high: float, log: bool) -> float:
    if log:
        return (math.log(x) - math.log(low)) / (math.log(high) - math.log(low))
    return (x - low) / (high - low)


def _from_unit(u: float, low: float, high: float, log: bool) -> float:
    if log:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)
