"""The stored life of requests: any sequence of attempts leaves the store agreeing with the
rule (state, version = number of events, events numbered without gap and never changed),
and of two actors acting on the same version only one succeeds — on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from api_particulier.app import create_app
from api_particulier.store.database import SQLiteDatabase
from api_particulier_habilitation.form import RequestForm
from api_particulier_habilitation.repository import EventRecord, Repository
from api_particulier_habilitation.states import Event, NotAllowed, Role, State, next_state
from hypothesis import given, settings
from hypothesis import strategies as st

from .support import plugins, service, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteDatabase]:
    """An embedded store with the plugin's tables, made once for the property test."""
    directory = tmp_path_factory.mktemp("store")

    async def make() -> None:
        app = create_app(settings_for(directory), plugins=plugins())
        async with app.running():
            pass

    anyio.run(make)
    database = SQLiteDatabase(directory / "keys.sqlite3")
    yield database
    anyio.run(database.close)


attempts = st.lists(
    st.tuples(
        st.sampled_from([e for e in Event if e is not Event.create]),
        st.sampled_from([Role.requester, Role.instructor]),
    ),
    max_size=25,
)


@settings(max_examples=40)
@given(sequence=attempts)
async def test_the_store_follows_the_rule(
    database: SQLiteDatabase, sequence: list[tuple[Event, Role]]
) -> None:
    repository = Repository(database)
    request_id = uuid.uuid4().hex[:12]
    assert await repository.create(request_id, "a@exemple.fr", RequestForm(title="T"), 1.0)
    state = State.draft
    seen: list[EventRecord] = await repository.events(request_id)
    for event, role in sequence:
        record = await repository.get(request_id)
        assert record is not None
        try:
            target = next_state(record.state, event, role)
        except NotAllowed:
            continue
        snapshot = record.form if event is Event.approve else None
        assert await repository.record_event(
            record, event, role, role.value, time.time(), "m", target, snapshot=snapshot
        )
        state = target
        events = await repository.events(request_id)
        assert events[: len(seen)] == seen  # what happened stays as it was
        seen = events
    record = await repository.get(request_id)
    assert record is not None
    assert record.state is state
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
    assert record.version == len(seen)
    assert (record.snapshot is not None) == any(e.event is Event.approve for e in seen)


async def test_two_instructors_acting_at_once(store: str, tmp_path: Path) -> None:
    async with service(settings_for(tmp_path, store)) as c:
        repository = Repository(c.app.database)
        assert await repository.create("r1", "a@exemple.fr", RequestForm(title="T"), 1.0)
        assert not await repository.create("r1", "b@exemple.fr", RequestForm(title="U"), 2.0)
        record = await repository.get("r1")
        assert record is not None
        assert await repository.record_event(
            record, Event.submit, Role.requester, "a", 2.0, None, State.submitted
        )
        submitted = await repository.get("r1")
        assert submitted is not None
        results: list[bool] = []

        async def act(event: Event, target: State) -> None:
            results.append(
                await repository.record_event(
                    submitted, event, Role.instructor, "i", 3.0, "x", target
                )
            )

        async with anyio.create_task_group() as group:
            group.start_soon(act, Event.approve, State.validated)
            group.start_soon(act, Event.refuse, State.refused)
        assert sorted(results) == [False, True]
        final = await repository.get("r1")
        assert final is not None
        events = await repository.events("r1")
        assert final.version == len(events) == 3
        assert final.state in (State.validated, State.refused)
        assert (
            events[-1].event.value
            == {"validated": "approve", "refused": "refuse"}[final.state.value]
        )


async def test_old_deliveries_are_forgotten_recent_ones_kept(store: str, tmp_path: Path) -> None:
    from api_particulier_habilitation.repository import DELIVERIES_KEPT

    async with service(settings_for(tmp_path, store)) as c:
        repository = Repository(c.app.database)
        assert await repository.claim_delivery("old", 1000.0)
        await repository.answer_delivery("old", '{"token_id": "a"}')
        assert await repository.claim_delivery("recent", 1000.0 + DELIVERIES_KEPT - 60)
        await repository.answer_delivery("recent", "{}")
        # A retry within the window is recognised.
        assert not await repository.claim_delivery("recent", 1000.0 + DELIVERIES_KEPT - 30)
        # The next delivery, past the window of the oldest, forgets it.
        assert await repository.claim_delivery("new", 1000.0 + DELIVERIES_KEPT + 1)
        assert await repository.delivery_answer("old") is None
        assert await repository.delivery_answer("recent") == "{}"


async def test_a_claim_never_answered_is_taken_over_after_its_lease(
    store: str, tmp_path: Path
) -> None:
    from api_particulier_habilitation.repository import DELIVERY_LEASE

    async with service(settings_for(tmp_path, store)) as c:
        repository = Repository(c.app.database)
        assert await repository.claim_delivery("died", 1000.0)
        # Its handler died: the copies within the lease wait (409), the next one handles it.
        assert not await repository.claim_delivery("died", 1000.0 + DELIVERY_LEASE / 2)
        assert await repository.claim_delivery("died", 1000.0 + DELIVERY_LEASE + 1)
        assert not await repository.claim_delivery("died", 1000.0 + DELIVERY_LEASE + 2)
        # An answered delivery is never handled again, however late the copy.
        await repository.answer_delivery("died", "{}")
        assert not await repository.claim_delivery("died", 1000.0 + 10 * DELIVERY_LEASE)
        assert await repository.delivery_answer("died") == "{}"
