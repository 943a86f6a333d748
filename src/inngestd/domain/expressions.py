"""Compile and evaluate user CEL expressions (`if`, `key`, `match`, cancelOn, waitForEvent)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from cel_expr_python import cel
from cel_expr_python.ext import ext_strings

from inngestd import errors

__all__ = [
    "VARIABLES",
    "Bindings",
    "Expression",
    "ExpressionEvalError",
    "bind",
    "compile_expression",
    "compile_search",
]

#: The names an expression may refer to; each is declared as DYN (in practice a JSON map).
VARIABLES: Final[tuple[str, ...]] = ("event", "async", "vars")
#: What a run search (`search.py`) may refer to: the trigger event and the run's output.
SEARCH_VARIABLES: Final[tuple[str, ...]] = ("event", "output")

_ENV: Final[Any] = cel.NewEnv(
    variables=dict.fromkeys(VARIABLES, cel.Type.DYN),
    extensions=[ext_strings.ExtStrings()],
)
_SEARCH_ENV: Final[Any] = cel.NewEnv(
    variables=dict.fromkeys(SEARCH_VARIABLES, cel.Type.DYN),
    extensions=[ext_strings.ExtStrings()],
)
_ERROR_TYPE: Final[Any] = cel.Type.ERROR
_UNKNOWN_TYPE: Final[Any] = cel.Type.UNKNOWN

_CACHE_SIZE: Final[int] = 4096
# cel-cpp wraps compile errors as "INVALID_ARGUMENT: ERROR: <input>:L:C: msg\n | src\n | ..^ [INVALID_ARGUMENT]".
_STATUS_PREFIX: Final[re.Pattern[str]] = re.compile(r"^[A-Z_]+: ")
_STATUS_SUFFIX: Final[re.Pattern[str]] = re.compile(r"\s*\[[A-Z_]+\]\s*$")
_LOCATION: Final[re.Pattern[str]] = re.compile(r"^ERROR: <input>:(\d+):(\d+): ")


class ExpressionEvalError(errors.InngestdError):
    """An expression failed at runtime (for example a missing key or a type mismatch)."""


def _compile_message(source: str, exc: BaseException) -> str:
    """Turn a cel-cpp compile error into one readable line per problem."""
    problems: list[str] = []
    for raw in str(exc).splitlines():
        line = _STATUS_SUFFIX.sub("", _STATUS_PREFIX.sub("", raw.strip()))
        if not line.startswith("ERROR: "):
            continue  # the echoed source and the caret line
        match = _LOCATION.match(line)
        if match:
            line = f"{line[match.end() :]} (at column {match.group(2)})"
        else:
            line = line.removeprefix("ERROR: ")
        problems.append(line)
    detail = (
        "; ".join(problems)
        or _STATUS_SUFFIX.sub("", str(exc)).strip()
        or "cannot compile"
    )
    return f"invalid expression {source!r}: {detail}"


def _eval_message(source: str, detail: object) -> str:
    return f"expression {source!r} failed: {_STATUS_PREFIX.sub('', str(detail))}"


def _to_python(value: object) -> object:
    """Normalise a cel plain value: bytearray becomes bytes, inside lists and maps too."""
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, list):
        return [_to_python(item) for item in value]
    if isinstance(value, dict):
        return {_to_python(k): _to_python(v) for k, v in value.items()}
    return value


class Bindings:
    """Variables prepared once for evaluating many expressions against the same event.

    cel converts each variable on first use and caches it, so a 3 KB event costs ~30 µs the
    first time and ~1.5 µs per further expression. Do not mutate the values after binding.
    """

    __slots__ = ("_activation",)

    def __init__(self, variables: Mapping[str, object]) -> None:
        data = variables if isinstance(variables, dict) else dict(variables)
        self._activation: Final[Any] = _ENV.Activation(data=data)


def bind(variables: Mapping[str, object]) -> Bindings:
    """Prepare `variables` (keys among `VARIABLES`) for several evaluations."""
    return Bindings(variables)


class Expression:
    """A compiled CEL expression; immutable and safe to share."""

    __slots__ = ("_env", "_program", "source")

    def __init__(self, source: str, program: Any, env: Any = None) -> None:
        self.source: Final[str] = source
        self._program: Final[Any] = program
        self._env: Final[Any] = _ENV if env is None else env

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def _eval(self, variables: Mapping[str, object] | Bindings) -> Any:
        if isinstance(variables, Bindings):
            return self._program.eval(variables._activation)
        data = variables if isinstance(variables, dict) else dict(variables)
        return self._program.eval(self._env.Activation(data=data))

    def evaluate(self, variables: Mapping[str, object] | Bindings) -> object:
        """Evaluate against `variables` (keys among `VARIABLES`) and return a plain Python value.

        Maps and lists come back as dicts and lists; timestamps and durations as `datetime`
        and `timedelta`. Raises `ExpressionEvalError` on a runtime error.
        """
        try:
            result = self._eval(variables)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ExpressionEvalError(_eval_message(self.source, exc)) from exc
        kind = result.type()
        if kind in (_ERROR_TYPE, _UNKNOWN_TYPE):
            raise ExpressionEvalError(_eval_message(self.source, result.value()))
        return _to_python(result.plain_value())

    def matches(self, variables: Mapping[str, object] | Bindings) -> bool:
        """True only if the expression evaluates to boolean true; errors and non-bools are False."""
        try:
            result = self._eval(variables)
        except (RuntimeError, ValueError, TypeError):
            return False
        # An ERROR value's .value() is its message (a str), so `is True` rejects it too.
        return result.value() is True


@functools.lru_cache(maxsize=_CACHE_SIZE)
def compile_expression(source: str) -> Expression:
    """Compile (and type-check) `source`, cached by source text.

    Raises `errors.InvalidExpression` naming the expression and the problem.
    """
    return _compile(_ENV, source)


@functools.lru_cache(maxsize=256)
def compile_search(source: str) -> Expression:
    """As `compile_expression`, for a search over `SEARCH_VARIABLES`."""
    return _compile(_SEARCH_ENV, source)


def _compile(env: Any, source: str) -> Expression:
    if not source.strip():
        raise errors.InvalidExpression(f"invalid expression {source!r}: it is empty")
    try:
        program = env.compile(source)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise errors.InvalidExpression(_compile_message(source, exc)) from exc
    return Expression(source, program, env)
