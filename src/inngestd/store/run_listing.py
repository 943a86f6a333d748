"""The run-listing query, shared by the SQL backends (pure: builds SQL text and arguments).

Listing is keyset-paginated on `(created_ms, id)`, newest first. A filter on several
statuses or functions becomes one `UNION ALL` branch per combination, each walking its own
index range (`runs_status_created`, `runs_fn_status_created`, ...) and stopping after
`limit` rows, so a page costs O(limit x branches) however many runs the store holds.

The SQL uses `?` placeholders (SQLite); `numbered` turns them into `$1, $2, ...`
(PostgreSQL). Both backends name their tables and columns alike: `runs` with
RUN_COLUMNS, `functions(id, name)`, `events(internal_id, name)`.
"""

from __future__ import annotations

import itertools
import re

from inngestd.store.base import RunFilter
from inngestd.store.records import RUN_COLUMNS

SELECT = ", ".join(f"r.{c}" for c in RUN_COLUMNS)
_INNER = ", ".join(RUN_COLUMNS)
# Beyond this many (status x function x app) combinations a single IN query is cheaper.
MAX_BRANCHES = 64
# A run with the names a listing shows; `r` is a runs row.
NAMED_FROM = (
    " LEFT JOIN functions f ON f.id = r.function_id"
    " LEFT JOIN events e ON e.internal_id = r.event_id"
)

_MARK = re.compile(r"\?")


def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (the builders emit no other `?`)."""
    counter = itertools.count(1)
    return _MARK.sub(lambda _: f"${next(counter)}", sql)


def where(
    flt: RunFilter,
    status: str | None,
    function_id: str | None,
    app_id: str | None,
    after: tuple[int, str] | None,
) -> tuple[str, list[object]]:
    """The WHERE clause of one branch: equalities first, then the time/keyset range."""
    clauses: list[str] = []
    args: list[object] = []
    for col, value in (
        ("function_id", function_id),
        ("app_id", app_id),
        ("status", status),
    ):
        if value is not None:
            clauses.append(f"{col} = ?")
            args.append(value)
    if flt.after_ms is not None:
        clauses.append("created_ms >= ?")
        args.append(flt.after_ms)
    if flt.before_ms is not None:
        clauses.append("created_ms < ?")
        args.append(flt.before_ms)
    if after is not None:
        clauses.append("(created_ms, id) < (?, ?)")
        args += list(after)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


def in_where(flt: RunFilter, after: tuple[int, str] | None) -> tuple[str, list[object]]:
    """The whole filter as one WHERE clause with IN lists (counts, many branches)."""
    clause, args = where(flt, None, None, None, after)
    extra: list[str] = []
    for col, values in (
        ("status", sorted(s.value for s in flt.statuses)),
        ("function_id", sorted(flt.function_ids)),
        ("app_id", sorted(flt.app_ids)),
    ):
        if values:
            extra.append(f"{col} IN ({', '.join('?' * len(values))})")
            args += values
    if extra:
        joined = " AND ".join(extra)
        clause = f"{clause} AND {joined}" if clause else f"WHERE {joined}"
    return clause, args


def _or_any(values: list[str]) -> list[str | None]:
    return list(values) if values else [None]


def branches(flt: RunFilter) -> list[tuple[str | None, str | None, str | None]]:
    statuses = _or_any(sorted(s.value for s in flt.statuses))
    functions = _or_any(sorted(flt.function_ids))
    # With functions given, the app is implied by them: filter it per branch instead.
    apps = _or_any(sorted(flt.app_ids) if not flt.function_ids else [])
    return list(itertools.product(statuses, functions, apps))


def list_sql(
    flt: RunFilter, after: tuple[int, str] | None, limit: int
) -> tuple[str, list[object]]:
    """One page of runs (RUN_COLUMNS, then the function and event names)."""
    order = "ORDER BY created_ms DESC, id DESC"
    parts_of = branches(flt)
    args: list[object] = []
    if len(parts_of) > MAX_BRANCHES:
        clause, args = in_where(flt, after)
        inner = f"SELECT {_INNER} FROM runs {clause} {order} LIMIT ?"
        args.append(limit)
    else:
        parts = []
        for status, fn, app in parts_of:
            clause, branch_args = where(flt, status, fn, app, after)
            if flt.app_ids and flt.function_ids:
                marks = ", ".join("?" * len(flt.app_ids))
                clause += f" AND app_id IN ({marks})"
                branch_args += sorted(flt.app_ids)
            parts.append(
                f"SELECT * FROM (SELECT {_INNER} FROM runs {clause} {order} LIMIT ?) b"
            )
            args += [*branch_args, limit]
        inner = " UNION ALL ".join(parts)
    sql = (
        f"SELECT {SELECT}, f.name, e.name FROM ({inner}) r{NAMED_FROM}"
        " ORDER BY r.created_ms DESC, r.id DESC LIMIT ?"
    )
    return sql, [*args, limit]
