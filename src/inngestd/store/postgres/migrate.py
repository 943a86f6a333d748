"""Versioned schema migrations for the PostgreSQL read side.

Migrations are `migrations/NNNN_<name>.sql`, applied in version order. `migrate` applies
the pending ones in one transaction that first takes a transaction-scoped advisory lock
(per schema), so processes starting together apply each migration exactly once: the
others wait, then find nothing left to do. Applied versions are recorded in
`schema_migrations(version, applied_at)` of the target schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from inngestd import errors

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def check_schema(schema: str) -> str:
    """`schema` if it is a plain identifier (it is interpolated into SQL); raises
    errors.InvalidInput otherwise."""
    if not _SCHEMA.match(schema):
        raise errors.InvalidInput(f"invalid PostgreSQL schema name {schema!r}")
    return schema


def available() -> list[Migration]:
    """Every migration shipped with this version, in order."""
    out = []
    folder = resources.files("inngestd.store.postgres").joinpath("migrations")
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            out.append(Migration(int(match[1]), entry.name, entry.read_text("utf-8")))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise errors.StoreError(f"duplicate migration versions: {versions}")
    return out


async def apply(conn: asyncpg.Connection, schema: str = "public") -> list[int]:
    """Apply the pending migrations on `conn` (outside any transaction) to `schema`,
    creating it if needed. Returns the versions applied now (empty: up to date)."""
    schema = check_schema(schema)
    pending = available()
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"inngestd.migrate:{schema}"
        )
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET LOCAL search_path TO "{schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            int(r[0]) for r in await conn.fetch("SELECT version FROM schema_migrations")
        }
        known = {m.version for m in pending}
        if done - known:
            raise errors.StoreError(
                f"schema {schema!r} has migrations {sorted(done - known)} this inngestd"
                " does not know: it was migrated by a newer version"
            )
        applied = []
        for migration in pending:
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)", migration.version
            )
            applied.append(migration.version)
    return applied


async def migrate(uri: str, schema: str = "public") -> list[int]:
    """Connect to `uri` and apply the pending migrations to `schema`."""
    conn = await asyncpg.connect(uri)
    try:
        return await apply(conn, schema)
    finally:
        await conn.close()
