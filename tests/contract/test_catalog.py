"""Contract: Catalog (sync upsert, checksum, archiving, sync errors), on every read backend."""

from __future__ import annotations

import orjson

from inngestd.domain.functions import App, CancelOn, Function, Trigger
from tests.contract.conftest import NOW, ReadStore

URL = "http://localhost:3000/api/inngest"


def fn(fid: str, app_id: str = "app", **kwargs: object) -> Function:
    fields: dict[str, object] = {
        "name": fid,
        "url": f"{URL}?fnId={fid}&stepId=step",
        "triggers": (Trigger(event=f"app/{fid}"),),
    }
    fields.update(kwargs)
    return Function(id=fid, app_id=app_id, **fields)  # type: ignore[arg-type]


def app(checksum: str = "c1", app_id: str = "app", url: str = URL) -> App:
    return App(
        id=app_id, url=url, sdk="py:v0.5.18", framework="fast_api", checksum=checksum
    )


async def test_first_sync_stores_app_and_functions(read_store: ReadStore) -> None:
    full = fn(
        "app-full",
        name="Full",
        triggers=(
            Trigger(event="app/full", expression="event.data.ok == true"),
            Trigger(cron="*/5 * * * *", jitter="10s"),
        ),
        retries=2,
        cancel=(CancelOn("app/cancel", "event.data.id == async.data.id", 3_600_000),),
        config=orjson.dumps({"id": "app-full", "concurrency": [{"limit": 2}]}),
    )
    result = await read_store.catalog.sync_app(app(), [full, fn("app-b")], NOW)
    assert result.modified is True
    assert result.sync_id
    assert result.app.synced_ms == NOW
    assert {f.id for f in result.app.functions} == {"app-full", "app-b"}

    stored = {f.id: f for f in await read_store.catalog.functions()}
    assert set(stored) == {"app-full", "app-b"}
    got = stored["app-full"]
    assert got == full
    assert orjson.loads(got.config) == {"id": "app-full", "concurrency": [{"limit": 2}]}
    assert got.max_attempts == 3

    [stored_app] = await read_store.catalog.apps()
    assert (stored_app.id, stored_app.url, stored_app.sdk, stored_app.framework) == (
        "app",
        URL,
        "py:v0.5.18",
        "fast_api",
    )
    assert stored_app.checksum == "c1"
    assert stored_app.synced_ms == NOW
    assert stored_app.error is None
    assert {f.id for f in stored_app.functions} == {"app-full", "app-b"}


async def test_resync_with_unchanged_checksum_is_not_modified(
    read_store: ReadStore,
) -> None:
    await read_store.catalog.sync_app(app("c1"), [fn("app-a")], NOW)
    same = await read_store.catalog.sync_app(app("c1"), [fn("app-a")], NOW + 1)
    assert same.modified is False
    changed = await read_store.catalog.sync_app(app("c2"), [fn("app-a")], NOW + 2)
    assert changed.modified is True
    [stored_app] = await read_store.catalog.apps()
    assert stored_app.checksum == "c2"
    assert stored_app.synced_ms == NOW + 2


async def test_sync_upserts_changed_function_fields(read_store: ReadStore) -> None:
    await read_store.catalog.sync_app(app("c1"), [fn("app-a", retries=1)], NOW)
    updated = fn(
        "app-a", name="renamed", retries=7, triggers=(Trigger(event="app/new"),)
    )
    await read_store.catalog.sync_app(app("c2"), [updated], NOW + 1)
    [got] = await read_store.catalog.functions()
    assert got == updated


async def test_functions_missing_from_a_sync_are_archived(
    read_store: ReadStore,
) -> None:
    await read_store.catalog.sync_app(app("c1"), [fn("app-a"), fn("app-b")], NOW)
    await read_store.catalog.sync_app(app("c2"), [fn("app-a")], NOW + 1)
    assert [f.id for f in await read_store.catalog.functions()] == ["app-a"]
    [stored_app] = await read_store.catalog.apps()
    assert [f.id for f in stored_app.functions] == ["app-a"]

    # Syncing it again brings it back.
    await read_store.catalog.sync_app(app("c3"), [fn("app-a"), fn("app-b")], NOW + 2)
    assert {f.id for f in await read_store.catalog.functions()} == {"app-a", "app-b"}


async def test_a_sync_with_no_functions_archives_all(read_store: ReadStore) -> None:
    await read_store.catalog.sync_app(app("c1"), [fn("app-a"), fn("app-b")], NOW)
    await read_store.catalog.sync_app(app("c2"), [], NOW + 1)
    assert await read_store.catalog.functions() == []
    [stored_app] = await read_store.catalog.apps()
    assert stored_app.functions == ()


async def test_syncing_one_app_leaves_other_apps_alone(read_store: ReadStore) -> None:
    other_url = "http://localhost:4000/api/inngest"
    await read_store.catalog.sync_app(app("c1"), [fn("app-a")], NOW)
    await read_store.catalog.sync_app(
        app("o1", app_id="other", url=other_url), [fn("other-x", app_id="other")], NOW
    )
    await read_store.catalog.sync_app(app("c2"), [], NOW + 1)
    assert [f.id for f in await read_store.catalog.functions()] == ["other-x"]
    apps = {a.id: a for a in await read_store.catalog.apps()}
    assert set(apps) == {"app", "other"}
    assert [f.id for f in apps["other"].functions] == ["other-x"]
    assert apps["app"].functions == ()


async def test_record_sync_error_is_shown_until_the_next_sync(
    read_store: ReadStore,
) -> None:
    await read_store.catalog.sync_app(app("c1"), [fn("app-a")], NOW)
    await read_store.catalog.record_sync_error(URL, "could not reach the app", NOW + 1)
    [stored_app] = await read_store.catalog.apps()
    assert stored_app.error == "could not reach the app"
    # Functions of the last good sync stay active.
    assert [f.id for f in stored_app.functions] == ["app-a"]

    await read_store.catalog.sync_app(app("c1"), [fn("app-a")], NOW + 2)
    [stored_app] = await read_store.catalog.apps()
    assert stored_app.error is None


async def test_record_sync_error_for_an_unknown_url_is_harmless(
    read_store: ReadStore,
) -> None:
    await read_store.catalog.record_sync_error("http://nowhere/api", "boom", NOW)
    await read_store.catalog.sync_app(app("c1"), [fn("app-a")], NOW)
    [stored_app] = await read_store.catalog.apps()
    assert stored_app.error is None
