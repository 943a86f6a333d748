"""GraphQL at /v0/gql, compatible with the Inngest dev server's schema (issue 4).

Schema-first (api/schema.graphql) with ariadne; executed with graphql-core on documents
parsed and validated once (an LRU keyed by the query text), since validation costs more
than execution for the dashboard's queries.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson
from ariadne import (
    MutationType,
    ObjectType,
    QueryType,
    ScalarType,
    UnionType,
    make_executable_schema,
)
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    execute,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from inngestd import errors, search
from inngestd.api import graphql_types as gt
from inngestd.api import responses, rest
from inngestd.api.context import MAX_BODY_BYTES, Services, read_body
from inngestd.domain.expressions import compile_search
from inngestd.domain.functions import App, Function
from inngestd.store.base import RunFilter, RunRow, RunTrace

Info = GraphQLResolveInfo["Context"]

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
# Distinct documents kept parsed and validated; the dashboard sends a few dozen.
DOCUMENT_CACHE_SIZE = 256
MAX_PAGE = 1000

query = QueryType()
mutation = MutationType()
run_v2 = ObjectType("FunctionRunV2")
run_v1 = ObjectType("FunctionRun")
function = ObjectType("Function")
event_v2 = ObjectType("EventV2")
connection = ObjectType("RunsV2Connection")
step_info = UnionType("StepInfo")


bytes_scalar = ScalarType("Bytes", serializer=gt.serialize_bytes)
time_scalar = ScalarType(
    "Time", serializer=gt.serialize_time, value_parser=gt.parse_time
)


@step_info.type_resolver
def _resolve_step_info(obj: dict[str, Any], *_: Any) -> str:
    return str(obj["__typename"])


# -- per-request context ----------------------------------------------------------------------
class Context:
    """What resolvers share within one request: the services and catalog look-ups."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._apps: dict[str, App] | None = None

    async def apps(self) -> dict[str, App]:
        if self._apps is None:
            apps = await self.services.store.catalog.apps()
            self._apps = {a.id: a for a in apps}
        return self._apps

    async def function(self, slug: str) -> Function | None:
        for app in (await self.apps()).values():
            for fn in app.functions:
                if fn.id == slug:
                    return fn
        return None


def _ctx(info: Info) -> Context:
    return info.context


async def _trace(info: Info, run_id: str) -> Any:
    store = _ctx(info).services.store
    trace = await store.history.run_trace(run_id)
    if trace is None:
        # The read side may lag the hot path by a moment (start mode's relay).
        ctx = await store.runs.load(run_id)
        if ctx is None:
            raise errors.RunNotFound(f"run {run_id!r} not found")
        return RunTrace(RunRow(ctx.run, None, None), ctx.events, [])
    return RunTrace(await _current(info, trace.run), trace.events, trace.spans)


async def _current(info: Info, row: RunRow) -> RunRow:
    """The run's status and output as the hot path has them now (the read side may lag)."""
    hot = await _ctx(info).services.store.runs.get_run(row.run.id)
    return row if hot is None else RunRow(hot, row.function_name, row.event_name)


# -- queries ------------------------------------------------------------------------------------
@query.field("apps")
async def _apps(_: Any, info: Info, filter: Any = None) -> Any:
    if filter and filter.get("method") not in (None, "SERVE"):
        return []
    return [gt.app_obj(a) for a in (await _ctx(info).apps()).values()]


@query.field("app")
async def _app(_: Any, info: Info, id: str) -> Any:
    app = (await _ctx(info).apps()).get(id)
    if app is None:
        raise errors.AppNotFound(f"app {id!r} not found")
    return gt.app_obj(app)


@query.field("functions")
async def _functions(_: Any, info: Info) -> Any:
    apps = (await _ctx(info).apps()).values()
    return [gt.function_obj(f) for a in apps for f in a.functions]


@query.field("functionBySlug")
async def _function_by_slug(_: Any, info: Info, query: Any) -> Any:
    fn = await _ctx(info).function(query["functionSlug"])
    return gt.function_obj(fn) if fn else None


@query.field("event")
async def _event(_: Any, info: Info, query: Any) -> Any:
    store = _ctx(info).services.store
    event = await store.events.get(str(query["eventId"]))
    if event is None:
        raise errors.EventNotFound(f"event {query['eventId']!r} not found")
    return gt.event_v1(event, await store.runs.runs_for_event(event.internal_id))


@query.field("eventV2")
async def _event_v2(_: Any, info: Info, id: str) -> Any:
    event = await _ctx(info).services.store.events.get(id)
    if event is None:
        raise errors.EventNotFound(f"event {id!r} not found")
    return gt.event_v2(event)


@query.field("eventsV2")
async def _events_v2(
    _: Any, info: Info, first: int, filter: Any, after: str | None = None
) -> Any:
    text = filter.get("query") or None
    expr = compile_search(text) if text else None
    if not 1 <= first <= MAX_PAGE:
        raise errors.InvalidInput(f"first must be between 1 and {MAX_PAGE}")
    if after is not None and not after.isdigit():
        raise errors.InvalidInput(f"invalid cursor {after!r}")
    store = _ctx(info).services.store
    names = filter.get("eventNames") or [None]
    internal = filter.get("includeInternalEvents", False)
    since, until = filter["from"], filter.get("until")
    found = []
    # With a query, a rare match must not make one request read the whole log: past
    # SCAN_LIMIT events the page ends early and its cursor continues the scan.
    budget = search.SCAN_LIMIT if expr is not None else None
    resume: int | None = None
    for name in names:
        if budget is not None and budget <= 0:
            break
        before = int(after) if after else None
        while True:
            batch = await store.events.recent(
                name=name, limit=first + 1, before_seq=before
            )
            for ev in batch:
                if ev.received_ms < since:
                    break
                if budget is not None:
                    budget -= 1
                if (
                    (until is None or ev.received_ms < until)
                    and (internal or not ev.name.startswith("inngest/"))
                    and (expr is None or expr.matches({"event": ev.payload}))
                ):
                    found.append(ev)
                if budget == 0:
                    resume = ev.seq  # the scan stops here, for every name
                    break
            else:
                if len(batch) == first + 1 and len(found) <= first:
                    before = batch[-1].seq
                    continue
            break
    found.sort(key=lambda e: e.seq, reverse=True)
    page = found[:first]
    end = str(page[-1].seq) if page else None
    if resume is not None and len(found) <= first:
        end = str(resume)
    return {
        "edges": [{"node": gt.event_v2(e), "cursor": str(e.seq)} for e in page],
        "pageInfo": {
            "hasNextPage": len(found) > first or resume is not None,
            "hasPreviousPage": after is not None,
            "startCursor": str(page[0].seq) if page else None,
            "endCursor": end,
        },
        "totalCount": len(found),
    }


@event_v2.field("runs")
async def _event_runs(obj: dict[str, Any], info: Info) -> Any:
    store = _ctx(info).services.store
    out = []
    for run in await store.runs.runs_for_event(obj["id"]):
        # Names from the read side; status and output from the hot path (never behind).
        row = await store.history.get_run(run.id)
        names = (row.function_name, row.event_name) if row is not None else (None, None)
        out.append(gt.run_v2(RunRow(run, *names)))
    return out


def _run_filter(flt: dict[str, Any]) -> RunFilter:
    return RunFilter(
        statuses=rest.parse_statuses(flt.get("status") or []),
        function_ids=frozenset(flt.get("functionIDs") or []),
        app_ids=frozenset(flt.get("appIDs") or []),
        after_ms=flt.get("from"),
        before_ms=flt.get("until"),
    )


@query.field("runs")
async def _runs(
    _: Any,
    info: Info,
    first: int,
    orderBy: list[dict[str, Any]],
    filter: dict[str, Any],
    after: str | None = None,
    preview: bool | None = None,
) -> Any:
    if any(o.get("direction") == "ASC" for o in orderBy):
        raise errors.InvalidInput("runs are listed newest first (direction DESC) only")
    if not 1 <= first <= MAX_PAGE:
        raise errors.InvalidInput(f"first must be between 1 and {MAX_PAGE}")
    flt = _run_filter(filter)
    store = _ctx(info).services.store
    text = filter.get("query") or None
    if text is None:
        page = await store.history.list_runs(flt, cursor=after, limit=first)
    else:
        page = await search.search_runs(
            store.history, store.events, flt, text, cursor=after, limit=first
        )
    edges = [
        {"node": gt.run_v2(r), "cursor": c}
        for r, c in zip(page.rows, page.row_cursors, strict=True)
    ]
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": page.cursor is not None,
            "hasPreviousPage": after is not None,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
        "_filter": flt,
        "_query": text,
    }


@connection.field("totalCount")
async def _total(obj: dict[str, Any], info: Info, **_: Any) -> int:
    store = _ctx(info).services.store
    if obj.get("_query"):
        return await search.count_runs(
            store.history, store.events, obj["_filter"], obj["_query"]
        )
    return await store.history.count_runs(obj["_filter"])


@query.field("run")
async def _run(_: Any, info: Info, runID: str) -> Any:
    row = await _ctx(info).services.store.history.get_run(runID)
    if row is None:
        hot = await _ctx(info).services.store.runs.get_run(runID)
        if hot is None:
            raise errors.RunNotFound(f"run {runID!r} not found")
        row = RunRow(hot, None, None)
    return gt.run_v2(await _current(info, row))


@query.field("runTrigger")
async def _run_trigger(_: Any, info: Info, runID: str) -> Any:
    return gt.trigger_obj(await _trace(info, runID))


@query.field("runTrace")
async def _run_trace(_: Any, info: Info, runID: str) -> Any:
    return gt.build_trace(await _trace(info, runID))


@query.field("runTraceSpanOutputByID")
async def _span_output(_: Any, info: Info, outputID: str) -> Any:
    store = _ctx(info).services.store
    if outputID.startswith(gt.ROOT_OUTPUT_PREFIX):
        run = await store.runs.get_run(outputID.removeprefix(gt.ROOT_OUTPUT_PREFIX))
        if run is None:
            raise errors.NotFound(f"output {outputID!r} not found")
        return gt.run_output(run)
    memo = await store.history.span_output(outputID)
    if memo is None and not outputID.isdigit():
        raise errors.NotFound(f"output {outputID!r} not found")
    return gt.step_output(memo)


@query.field("functionRun")
async def _function_run(_: Any, info: Info, query: Any) -> Any:
    run = await _ctx(info).services.store.runs.get_run(str(query["functionRunId"]))
    if run is None:
        raise errors.RunNotFound(f"run {query['functionRunId']!r} not found")
    return gt.run_v1(run)


# -- object fields ------------------------------------------------------------------------------
async def _function_of(obj: dict[str, Any], info: Info) -> Any:
    fn = await _ctx(info).function(obj["_run"].function_id)
    return gt.function_obj(fn) if fn else None


run_v1.set_field("function", _function_of)


@run_v2.field("function")
async def _run_function(obj: dict[str, Any], info: Info) -> Any:
    found = await _function_of(obj, info)
    if found is not None:
        return found
    run = obj["_run"]  # an archived function: still show the run
    return gt.function_obj(
        Function(run.function_id, run.app_id, run.function_id, "", ())
    )


async def _app_of(obj: dict[str, Any], info: Info, app_id: str) -> Any:
    app = (await _ctx(info).apps()).get(app_id)
    return gt.app_obj(app or App(app_id, ""))


@run_v2.field("app")
async def _run_app(obj: dict[str, Any], info: Info) -> Any:
    return await _app_of(obj, info, obj["appID"])


@function.field("app")
async def _function_app(obj: dict[str, Any], info: Info) -> Any:
    return await _app_of(obj, info, obj["appID"])


@function.field("failureHandler")
async def _failure_handler(obj: dict[str, Any], info: Info) -> Any:
    fn = await _ctx(info).function(f"{obj['slug']}-failure")
    return gt.function_obj(fn) if fn else None


@run_v2.field("trace")
async def _run_v2_trace(obj: dict[str, Any], info: Info, **_: Any) -> Any:
    return gt.build_trace(await _trace(info, obj["id"]))


@run_v1.field("event")
async def _run_v1_event(obj: dict[str, Any], info: Info) -> Any:
    store = _ctx(info).services.store
    event = await store.events.get(obj["eventID"])
    return gt.event_v1(event, []) if event else None


@run_v1.field("events")
async def _run_v1_events(obj: dict[str, Any], info: Info) -> Any:
    event = await _run_v1_event(obj, info)
    return [event] if event else []


# -- mutations ----------------------------------------------------------------------------------
@mutation.field("createApp")
async def _create_app(_: Any, info: Info, input: Any) -> Any:
    services = _ctx(info).services
    await rest.sync_app(services, str(input["url"]))
    for app in await services.store.catalog.apps():
        if app.url == input["url"]:
            return gt.app_obj(app)
    raise errors.AppNotFound(f"the app at {input['url']!r} could not be synced")


@mutation.field("invokeFunction")
async def _invoke(
    _: Any,
    info: Info,
    functionSlug: str,
    data: Any = None,
    user: Any = None,
    **_kw: Any,
) -> bool:
    if data is not None and not isinstance(data, dict):
        raise errors.InvalidInput("data must be an object")
    await rest.invoke(
        _ctx(info).services,
        functionSlug,
        data or {},
        user if isinstance(user, dict) else None,
    )
    return True


@mutation.field("cancelRun")
async def _cancel_run(_: Any, info: Info, runID: str) -> Any:
    services = _ctx(info).services
    run = await services.store.runs.get_run(runID)
    if run is None:
        raise errors.RunNotFound(f"run {runID!r} not found")
    cancelled = await services.scheduler.cancel_run(runID)
    if cancelled is None:
        raise errors.RunAlreadyEnded(
            f"run {runID!r} has already ended ({run.status.value})"
        )
    return gt.run_v1(cancelled)


@mutation.field("rerun")
async def _rerun(
    _: Any, info: Info, runID: str, fromStep: Any = None, **_kw: Any
) -> str:
    step_id = None
    if fromStep is not None:
        if fromStep.get("input") is not None:
            raise errors.InvalidInput(
                "rerun from a step with a new input is not supported by inngestd"
            )
        step_id = str(fromStep["stepID"])
    return (await rest.rerun(_ctx(info).services, runID, step_id)).id


SCHEMA = make_executable_schema(
    SCHEMA_PATH.read_text(),
    query,
    mutation,
    run_v2,
    run_v1,
    function,
    event_v2,
    connection,
    step_info,
    bytes_scalar,
    time_scalar,
)


# -- HTTP ---------------------------------------------------------------------------------------
class DocumentCache:
    """Parsed documents and their validation errors, least recently used out first."""

    def __init__(self, size: int = DOCUMENT_CACHE_SIZE) -> None:
        self._size = size
        self._docs: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]]
        self._docs = OrderedDict()

    def get(self, text: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        hit = self._docs.get(text)
        if hit is not None:
            self._docs.move_to_end(text)
            return hit
        try:
            doc: DocumentNode | None = parse(text)
        except GraphQLError as exc:
            entry: tuple[DocumentNode | None, list[GraphQLError]] = (None, [exc])
        else:
            assert doc is not None
            entry = (doc, list(validate(SCHEMA, doc)))
        self._docs[text] = entry
        if len(self._docs) > self._size:
            self._docs.popitem(last=False)
        return entry


DOCUMENTS = DocumentCache()


def _error(message: str) -> Response:
    return responses.json({"data": {}, "errors": [{"message": message}]})


def _format(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data if result.data is not None else {}}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return body


async def gql(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        raw = await read_body(request, MAX_BODY_BYTES)
        payload = orjson.loads(raw)
    except errors.InngestdError as exc:
        return _error(exc.message)
    except orjson.JSONDecodeError as exc:
        return _error(f"request body is not valid JSON: {exc}")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return _error('the body must be {"query": "...", "variables": {...}}')
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return _error("variables must be an object")
    doc, problems = DOCUMENTS.get(payload["query"])
    if doc is None or problems:
        return responses.json({"data": {}, "errors": [e.formatted for e in problems]})
    result = execute(
        SCHEMA,
        doc,
        context_value=Context(services),
        variable_values=variables,
        operation_name=payload.get("operationName"),
    )
    if not isinstance(result, ExecutionResult):
        result = await result
    return responses.json(_format(result))


def routes() -> list[BaseRoute]:
    return [Route("/v0/gql", gql, methods=["POST"])]
