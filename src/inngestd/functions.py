"""An in-memory view of the active functions, indexed for trigger lookups."""

from __future__ import annotations

from inngestd.domain.functions import Function
from inngestd.domain.patterns import candidate_patterns
from inngestd.store.base import Catalog


class FunctionIndex:
    """Active functions by id and by trigger event name (exact or wildcard pattern)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._by_id: dict[str, Function] = {}
        self._by_trigger: dict[str, list[Function]] = {}

    async def refresh(self) -> None:
        functions = await self._catalog.functions()
        by_trigger: dict[str, list[Function]] = {}
        for fn in functions:
            for name in {t.event for t in fn.triggers if t.event}:
                by_trigger.setdefault(name, []).append(fn)
        self._by_id = {fn.id: fn for fn in functions}
        self._by_trigger = by_trigger

    def get(self, function_id: str) -> Function | None:
        return self._by_id.get(function_id)

    def all(self) -> list[Function]:
        return list(self._by_id.values())

    def for_event(self, name: str) -> list[Function]:
        """Functions with a trigger whose name or pattern matches `name` (each once)."""
        seen: dict[str, Function] = {}
        for pattern in candidate_patterns(name):
            for fn in self._by_trigger.get(pattern, ()):
                seen.setdefault(fn.id, fn)
        return list(seen.values())
