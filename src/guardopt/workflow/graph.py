"""Nodes, bundled functions and the execution trace they record.

Paper: Cheng, Nie, Swaminathan (2024), "Trace is the New AutoDiff -- Unlocking Efficient
Optimization of Computational Workflows", NeurIPS 2024, arXiv 2406.16218. A workflow is ordinary
Python in which the values that matter are wrapped in `Node`s. Calling a `bundle`-decorated function
on nodes runs the function on their values and returns a new node that remembers the operation, its
inputs, its documentation and (for trainable code) its source: following ``parents`` from an output
gives the executed graph, the *trace* that an OPTO optimizer receives with the feedback.

The graph is the parents links themselves, like an autodiff tape: nothing global is recorded, so two
workflows never share state and the graph changes with every run, as the paper's graphs may.

Example:
    >>> from guardopt.workflow import bundle, node
    >>> @bundle(description="Add two numbers.")
    ... def add(a, b):
    ...     return a + b
    >>> x = node(2.0, name="x", trainable=True)
    >>> y = add(x, 3.0)
    >>> (y.value, y.op, [p.name for p in y.parents][0])
    (5.0, 'add', 'x')
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from guardopt.core.errors import GuardoptError, InvalidParameterError, check_bool

__all__ = ["BundledFunction", "ExecutionError", "Node", "bundle", "node"]

_COUNTER = itertools.count()


class ExecutionError(GuardoptError, RuntimeError):
    """A bundled function raised while the workflow ran.

    Attributes:
        op: The bundled function's name.
        inputs: The input nodes it was called with (the trace up to the failure).
    """

    def __init__(self, op: str, inputs: Sequence[Node], cause: BaseException) -> None:
        self.op = op
        self.inputs = tuple(inputs)
        super().__init__(f"The bundled function {op!r} raised {type(cause).__name__}: {cause}")


def _check_name(name: Any, owner: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidParameterError("name", owner, "None or a Python identifier", name)
    return name


class Node:
    """A value in a workflow, with the operation that produced it.

    Args:
        value: Any Python value (a number, a prompt string, source code).
        name: An identifier shown in traces and prompts; a unique one is made when omitted.
        trainable: Whether an optimizer may change the value (a *parameter*).
        description: What the value means, shown to optimizers (e.g. a constraint on its range).

    Attributes:
        parents: The input nodes of the operation that produced this node (empty for a leaf).
        op: The bundled function's name (None for a leaf).
        fn: The bundled function, called with the values of ``parents`` (for trainable code the code
            parameter comes last and is ignored), so an optimizer can re-evaluate one operation locally.
        doc: The operation's documentation (None for a leaf).
        code: The operation's source code, when it is known.
        feedback: Feedback texts propagated to this node since the last ``zero_feedback``.
    """

    __array_priority__ = 1000  # numpy scalars on the left defer to Node's operators

    def __init__(self, value: Any, name: str | None = None, trainable: bool = False, description: str = "",
                 *, parents: Sequence[Node] = (), op: str | None = None, fn: Callable[..., Any] | None = None,
                 doc: str | None = None, code: str | None = None) -> None:
        check_bool(trainable, "trainable", "Node")
        if not isinstance(description, str):
            raise InvalidParameterError("description", "Node", "a string", description)
        self.uid = next(_COUNTER)
        stem = op if op is not None else ("param" if trainable else "value")
        given = _check_name(name, "Node")
        self.auto_named = given is None  # a generated name, unstable across runs
        self.name: str = given or f"{stem}{self.uid}"
        self._value = value
        self.trainable = trainable
        self.description = description
        self.parents: tuple[Node, ...] = tuple(parents)
        self.op = op
        self.fn = fn
        self.doc = doc
        self.code = code
        self.feedback: list[str] = []

    @property
    def value(self) -> Any:
        """The node's current value."""
        return self._value

    def set_value(self, value: Any) -> None:
        """Replace a parameter's value (what an optimizer's step does)."""
        if not self.trainable:
            raise InvalidParameterError("node", "Node.set_value", "a trainable node", self.name)
        self._value = value

    @property
    def is_leaf(self) -> bool:
        """True for a node that no operation produced (a parameter or an input)."""
        return self.op is None

    def ancestors(self) -> Iterator[Node]:
        """Every node this one depends on, itself included, in topological order (inputs first)."""
        seen: set[int] = set()
        order: list[Node] = []
        stack: list[tuple[Node, bool]] = [(self, False)]
        while stack:  # iterative DFS: deep workflows must not hit the recursion limit
            n, expanded = stack.pop()
            if expanded:
                order.append(n)
                continue
            if n.uid in seen:
                continue
            seen.add(n.uid)
            stack.append((n, True))
            stack.extend((p, False) for p in reversed(n.parents) if p.uid not in seen)
        return iter(order)

    def __repr__(self) -> str:
        kind = "parameter" if self.trainable else ("value" if self.is_leaf else f"op={self.op}")
        return f"Node({self.name}={self._value!r}, {kind})"

    # Arithmetic builds traced nodes, so numeric workflows read like plain Python. Each operator is
    # a bundled function with its own documentation, which is what the trace shows an optimizer.
    def __add__(self, other: Any) -> Node:
        return _add(self, other)

    def __radd__(self, other: Any) -> Node:
        return _add(other, self)

    def __sub__(self, other: Any) -> Node:
        return _sub(self, other)

    def __rsub__(self, other: Any) -> Node:
        return _sub(other, self)

    def __mul__(self, other: Any) -> Node:
        return _mul(self, other)

    def __rmul__(self, other: Any) -> Node:
        return _mul(other, self)

    def __truediv__(self, other: Any) -> Node:
        return _div(self, other)

    def __rtruediv__(self, other: Any) -> Node:
        return _div(other, self)

    def __neg__(self) -> Node:
        return _neg(self)

    def __abs__(self) -> Node:
        return _abs(self)

    def __pow__(self, other: Any) -> Node:
        return _pow(self, other)

    def __rpow__(self, other: Any) -> Node:
        return _pow(other, self)


def node(value: Any, name: str | None = None, trainable: bool = False, description: str = "") -> Node:
    """Wrap a value in a `Node` (a node is returned unchanged).

    Args:
        value: The value.
        name: Identifier shown in traces (default: generated).
        trainable: Whether optimizers may change it.
        description: What it means; shown to optimizers.
    """
    if isinstance(value, Node):
        return value
    return Node(value, name=name, trainable=trainable, description=description)


def _source_of(fn: Callable[..., Any]) -> str | None:
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):  # built-ins, functions typed at a prompt
        return None
    # Drop decorator lines: the code parameter is the function itself.
    lines = src.splitlines()
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)
    return "\n".join(lines) + "\n"


class BundledFunction:
    """A Python function whose calls are recorded as operations of the trace (see `bundle`).

    With ``trainable=True`` the function's source code is itself a parameter (``self.parameter``):
    an optimizer may rewrite it, and later calls run the rewritten code.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None, description: str | None, trainable: bool) -> None:
        if not callable(fn):
            raise InvalidParameterError("fn", "bundle", "a callable", fn)
        self.fn = fn
        self.name: str = _check_name(name, "bundle") or str(getattr(fn, "__name__", "op"))
        self.doc = description if description is not None else (inspect.getdoc(fn) or "")
        source = _source_of(fn)
        self.parameter: Node | None = None
        if trainable:
            if source is None:
                raise InvalidParameterError("fn", "bundle", "a function whose source code is available when "
                                            "trainable=True", fn)
            self.parameter = Node(source, name=f"__code_{self.name}", trainable=True,
                                  description=f"The source code of the function {self.name}.")
        self._source = source
        self._compiled: tuple[str, Callable[..., Any]] | None = None
        functools.update_wrapper(self, fn)

    def current_function(self) -> Callable[..., Any]:
        """The function that runs now: the original, or the trainable source compiled."""
        if self.parameter is None or self.parameter.value == self._source:
            return self.fn
        src = self.parameter.value
        if self._compiled is None or self._compiled[0] != src:
            if not isinstance(src, str):
                raise InvalidParameterError("code", f"bundle {self.name!r}", "a string of Python source", src)
            namespace: dict[str, Any] = dict(getattr(self.fn, "__globals__", {}))
            try:
                exec(compile(src, f"<trainable {self.name}>", "exec"), namespace)
            except SyntaxError as exc:
                raise ExecutionError(self.name, (), exc) from exc
            fn = namespace.get(getattr(self.fn, "__name__", self.name))
            if not callable(fn):
                raise ExecutionError(self.name, (), NameError(f"the code no longer defines {self.name}"))
            self._compiled = (src, fn)
        return self._compiled[1]

    def __call__(self, *args: Any) -> Node:
        inputs = [a if isinstance(a, Node) else Node(a, name=None) for a in args]
        fn = self.current_function()
        try:
            out = fn(*(n.value for n in inputs))
        except Exception as exc:  # the user's code: report which operation failed, keep the trace
            raise ExecutionError(self.name, inputs, exc) from exc
        parents = list(inputs) + ([self.parameter] if self.parameter is not None else [])
        code = self.parameter.value if self.parameter is not None else self._source
        # The recorded function takes the values of all parents, the code parameter (last) included,
        # so that re-evaluating one operation locally (derivatives, inversion) calls it correctly.
        def local(*values: Any, _fn: Callable[..., Any] = fn, _k: int = len(inputs)) -> Any:
            return _fn(*values[:_k])

        record = local if self.parameter is not None else fn
        return Node(out, parents=parents, op=self.name, fn=record, doc=self.doc, code=code)


def bundle(trainable: bool = False, name: str | None = None,
           description: str | None = None) -> Callable[[Callable[..., Any]], BundledFunction]:
    """Decorator: record each call of a function as one operation of the trace.

    Args:
        trainable: Make the function's source code a trainable parameter (code as parameter).
        name: The operation's name in traces (default: the function's name).
        description: Its documentation in traces (default: the docstring).

    The decorated function takes nodes or plain values (plain ones become constant leaves) and
    returns a `Node`. Only positional arguments are traced.
    """
    check_bool(trainable, "trainable", "bundle")

    def wrap(fn: Callable[..., Any]) -> BundledFunction:
        return BundledFunction(fn, name, description, trainable)

    return wrap


@bundle(name="add", description="add(a, b) = a + b")
def _add(a: Any, b: Any) -> Any:
    return a + b


@bundle(name="sub", description="sub(a, b) = a - b")
def _sub(a: Any, b: Any) -> Any:
    return a - b


@bundle(name="mul", description="mul(a, b) = a * b")
def _mul(a: Any, b: Any) -> Any:
    return a * b


@bundle(name="div", description="div(a, b) = a / b")
def _div(a: Any, b: Any) -> Any:
    return a / b


@bundle(name="neg", description="neg(a) = -a")
def _neg(a: Any) -> Any:
    return -a


@bundle(name="abs", description="abs(a) = |a|")
def _abs(a: Any) -> Any:
    return abs(a)


@bundle(name="pow", description="pow(a, b) = a ** b")
def _pow(a: Any, b: Any) -> Any:
    return a**b


def is_number(value: Any) -> bool:
    """True for a finite real number (bools excluded): what numeric optimizers may change."""
    if isinstance(value, bool) or (not isinstance(value, (int, float)) and not hasattr(value, "__float__")):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False
