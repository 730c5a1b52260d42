"""Integration tests of Storage and the services on the real MariaDB."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import mysql.connector
import pytest

from my_monit.container import create_container
from my_monit.errors import Conflict, InvalidArgument, NotFound, Unavailable
from my_monit.model import Experiment, MeasureType, Role, User
from my_monit.storage import MeasureCursor
from my_monit.storage.storage import MeasureQuery

pytestmark = pytest.mark.integration

ADMIN = User("A1", "Ada Admin", "uid-admin", "ada@example.org", Role.ADMIN)
SAM = User("S1", "Sam Science", "uid-sam", "sam@example.org", Role.SCIENTIST)
OLGA = User("S2", "Olga Other", "uid-olga", "olga@example.org", Role.SCIENTIST)
T0 = datetime(2022, 4, 6, 7, 0, tzinfo=timezone.utc)


@pytest.fixture(name="container")
def fixture_container(clean_database):
    container = create_container(clean_database)
    yield container
    container.storage_connector().close()


@pytest.fixture(name="storage")
def fixture_storage(container):
    return container.storage()


def _count(storage, table):
    with storage._connector.transaction() as cursor:  # pylint: disable=protected-access
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # fixed table names
        return cursor.fetchone()[0]


def test_user_round_trip(storage):
    storage.insert_user(SAM)
    assert storage.get_user("S1") == SAM
    assert storage.get_user_by_username("uid-sam") == SAM
    assert storage.get_user("nobody") is None


@pytest.mark.parametrize(
    "duplicate, field",
    [
        (dataclasses.replace(OLGA, user_id="S1"), "user_id"),
        (dataclasses.replace(OLGA, username="uid-sam"), "username"),
        (dataclasses.replace(OLGA, email="sam@example.org"), "email"),
    ],
)
def test_duplicate_user_is_a_conflict_naming_the_field(storage, duplicate, field):
    storage.insert_user(SAM)
    with pytest.raises(Conflict) as caught:
        storage.insert_user(duplicate)
    assert (caught.value.what, caught.value.which) == ("user", field)
    assert "sam@example.org" not in str(caught.value) and "uid-sam" not in str(caught.value)
    assert _count(storage, "users") == 1
    assert storage.get_user("S1") == SAM


def test_list_users_is_ordered_and_bounded(storage):
    for user in (OLGA, SAM, ADMIN):
        storage.insert_user(user)
    assert [u.user_id for u in storage.list_users("", 2)] == ["A1", "S1"]
    assert [u.user_id for u in storage.list_users("S1", 10)] == ["S2"]


def test_an_email_is_taken_whatever_its_case(storage):
    storage.insert_user(SAM)
    shouting = dataclasses.replace(OLGA, email=SAM.email.upper())
    with pytest.raises(Conflict) as taken:
        storage.insert_user(shouting)
    assert (taken.value.what, taken.value.which) == ("user", "email")
    storage.insert_user(OLGA)
    with pytest.raises(Conflict):
        storage.update_user(dataclasses.replace(OLGA, email="Sam@Example.org"))
    storage.update_user(dataclasses.replace(SAM, email="Sam@Example.org"))  # its own, recased
    assert storage.get_user(SAM.user_id).email == "Sam@Example.org"


def test_update_user_and_missing_user(storage):
    storage.insert_user(SAM)
    storage.update_user(dataclasses.replace(SAM, name="Sam S", role=Role.ADMIN))
    assert storage.get_user("S1").name == "Sam S" and storage.get_user("S1").is_admin
    with pytest.raises(NotFound):
        storage.update_user(dataclasses.replace(OLGA, user_id="S9"))


def test_update_user_to_a_taken_email_changes_nothing(storage):
    storage.insert_user(SAM)
    storage.insert_user(OLGA)
    with pytest.raises(Conflict):
        storage.update_user(dataclasses.replace(OLGA, email=SAM.email))
    assert storage.get_user("S2") == OLGA


def test_erasure_keeps_the_staff_id_only(container, storage):
    storage.insert_user(SAM)
    experiment = storage.insert_experiment(Experiment(None, "vibrations"))
    storage.insert_association(experiment.experiment_id, "S1")

    container.user_service().erase_user(ADMIN, "S1")

    erased = storage.get_user("S1")
    assert erased.erased and (erased.name, erased.username, erased.email) == (None, None, None)
    assert storage.get_user_by_username("uid-sam") is None
    assert not storage.is_associated(experiment.experiment_id, "S1")
    with pytest.raises(Conflict):
        storage.insert_user(SAM)
    with pytest.raises(NotFound):
        storage.erase_user("S1")
    storage.insert_user(dataclasses.replace(SAM, user_id="S7"))  # the email is free again


def test_experiments_and_associations(container, storage):
    service = container.experiment_service()
    storage.insert_user(SAM)
    storage.insert_user(OLGA)
    storage.insert_user(ADMIN)
    first = service.create_experiment(ADMIN, "vibrations")
    second = service.create_experiment(ADMIN, "temperatures")

    service.associate(ADMIN, first.experiment_id, "S1")

    assert service.list_experiments(SAM).items == [first]
    assert service.list_experiments(ADMIN).items == [first, second]
    assert service.list_associations(ADMIN).items == [(first.experiment_id, [SAM])]
    with pytest.raises(Conflict):
        service.associate(ADMIN, first.experiment_id, "S1")
    with pytest.raises(InvalidArgument):
        service.associate(ADMIN, first.experiment_id, "A1")
    with pytest.raises(NotFound):
        service.associate(ADMIN, 999999, "S1")
    assert _count(storage, "scientists_experiments") == 1

    service.dissociate(ADMIN, first.experiment_id, "S1")
    assert service.list_experiments(SAM).items == []
    with pytest.raises(NotFound):
        service.dissociate(ADMIN, first.experiment_id, "S1")


def test_experiment_name_is_unique(container, storage):
    service = container.experiment_service()
    first = service.create_experiment(ADMIN, "vibrations")
    other = service.create_experiment(ADMIN, "other")
    with pytest.raises(Conflict) as caught:
        service.create_experiment(ADMIN, "vibrations")
    assert (caught.value.what, caught.value.which) == ("experiment", "name")
    with pytest.raises(Conflict):
        service.update_experiment(ADMIN, other.experiment_id, "vibrations")
    with pytest.raises(NotFound):
        service.update_experiment(ADMIN, 999999, "fresh")
    assert storage.get_experiment(first.experiment_id) == first
    assert _count(storage, "experiments") == 2


def test_measure_types_are_seeded_and_extensible(storage):
    names = {measure_type.name for measure_type in storage.list_measure_types("", 100)}
    assert len(names) == 22 and {"hertz", "ohm", "degree Celsius", "katal"} <= names
    storage.insert_measure_type(MeasureType("bar", "bar", "pressure"))
    with pytest.raises(Conflict):
        storage.insert_measure_type(MeasureType("bar", "b", "pressure"))
    assert "bar" in storage.measure_type_ids()


def _store(storage, experiment_id, seconds, measure_type="hertz"):
    type_id = storage.measure_type_ids()[measure_type]
    rows = [(experiment_id, type_id, T0 + timedelta(seconds=s), float(s)) for s in seconds]
    storage.insert_measures(rows)


def test_measures_keep_microseconds_and_page_newest_first(container, storage):
    service = container.measures_service()
    experiment = storage.insert_experiment(Experiment(None, "vibrations"))
    eid = experiment.experiment_id
    type_id = storage.measure_type_ids()["hertz"]
    stamp = T0 + timedelta(microseconds=123456)
    storage.insert_measures([(eid, type_id, stamp.replace(tzinfo=None), 1.5)])
    _store(storage, eid, [1, 2, 3, 3, 4])

    first = service.list_measures(ADMIN, eid, limit=3)
    assert [row.value for row in first.items] == [4.0, 3.0, 3.0]
    rest = service.list_measures(ADMIN, eid, limit=3, before=first.next_cursor)
    assert [row.value for row in rest.items] == [2.0, 1.0, 1.5]
    assert rest.next_cursor is None
    assert rest.items[-1].timestamp == stamp.replace(tzinfo=None)

    _store(storage, eid, [10])  # a newer measure does not shift the next pages
    again = service.list_measures(ADMIN, eid, limit=3, before=first.next_cursor)
    assert again.items == rest.items


def test_measures_filters_by_time_and_type(container, storage):
    service = container.measures_service()
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    _store(storage, eid, [1, 2, 3])
    _store(storage, eid, [2], measure_type="volt")

    window = service.list_measures(
        ADMIN, eid, since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=3)
    )
    assert sorted(row.value for row in window.items) == [2.0, 2.0, 3.0]
    volts = service.list_measures(ADMIN, eid, measure_type="volt")
    assert [(row.measure_type, row.value) for row in volts.items] == [("volt", 2.0)]


def test_measure_query_itself_hides_unassociated_experiments(storage):
    storage.insert_user(SAM)
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    _store(storage, eid, [1, 2])
    query = MeasureQuery(experiment_id=eid, actor_id="S1", see_all=False, limit=10)

    assert storage.list_measures(query) == []
    storage.insert_association(eid, "S1")
    assert len(storage.list_measures(query)) == 2


def test_consumed_message_ids_are_stored_once(storage):
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    type_id = storage.measure_type_ids()["hertz"]
    row = (eid, type_id, T0, 1.0)
    storage.insert_measures([row], message_ids=["m-1"])
    assert storage.consumed(["m-1", "m-2"]) == {"m-1"}
    with pytest.raises(Conflict):
        storage.insert_measures([row], message_ids=["m-1"])
    assert _count(storage, "measures") == 1


def _age_message_ids(storage, days, message_ids):
    with storage._connector.transaction() as cursor:  # pylint: disable=protected-access
        cursor.executemany(
            "UPDATE consumed_messages SET consumed_at = NOW(6) - INTERVAL %s DAY"
            " WHERE message_id = %s",
            [(days, message_id.encode()) for message_id in message_ids],
        )


def test_pruning_deletes_only_ids_older_than_asked_and_at_most_the_limit(storage):
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    type_id = storage.measure_type_ids()["hertz"]
    ids = [f"m-{number}" for number in range(5)]
    storage.insert_measures([(eid, type_id, T0, 1.0)], message_ids=ids)
    _age_message_ids(storage, 8, ids[:3])

    first = storage.prune_consumed(7 * 86400, 2)
    second = storage.prune_consumed(7 * 86400, 2)

    assert (first, second) == (2, 1)
    assert storage.consumed(ids) == {"m-3", "m-4"}
    assert _count(storage, "measures") == 1  # the measures stay


def test_message_ids_are_compared_byte_for_byte(storage):
    """Ids differing by a trailing space, or not UTF-8 at all, are each their own."""
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    type_id = storage.measure_type_ids()["hertz"]
    not_utf8 = b"\xffm".decode("utf-8", "surrogateescape")
    for message_id in ("m", "m ", not_utf8):
        storage.insert_measures([(eid, type_id, T0, 1.0)], message_ids=[message_id])
    assert storage.consumed(["m", "m ", "m  ", not_utf8, "\u00ffm"]) == {"m", "m ", not_utf8}
    assert _count(storage, "consumed_messages") == 3


def test_a_schema_not_upgraded_is_unavailable_not_a_refusal_of_the_data(storage):
    """A missing table (1146) is for an operator to fix: the work is retried, not refused."""
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    type_id = storage.measure_type_ids()["hertz"]
    with storage._connector.transaction() as cursor:  # pylint: disable=protected-access
        cursor.execute("RENAME TABLE consumed_messages TO consumed_messages_away")
    try:
        with pytest.raises(Unavailable, match="1146"):
            storage.insert_measures([(eid, type_id, T0, 1.0)], message_ids=["m-1"])
    finally:
        with storage._connector.transaction() as cursor:  # pylint: disable=protected-access
            cursor.execute("RENAME TABLE consumed_messages_away TO consumed_messages")
    assert _count(storage, "measures") == 0


def test_large_batches_are_chunked(storage):
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    type_id = storage.measure_type_ids()["hertz"]
    rows = [(eid, type_id, T0 + timedelta(microseconds=i), float(i)) for i in range(12001)]
    storage.insert_measures(rows)
    assert _count(storage, "measures") == 12001


def test_killed_connection_is_replaced_not_reused(clean_database, storage):
    storage.get_user("x")  # leaves one idle connection in the pool
    connector = storage._connector  # pylint: disable=protected-access
    pooled = connector._idle.queue[0].connection  # pylint: disable=protected-access
    # The tests' own user may kill its own connections; root may not sign in over TCP on a
    # fresh MariaDB (unix socket only).
    admin = mysql.connector.connect(
        host=clean_database.db_host, port=clean_database.db_port,
        user=clean_database.db_user, password=clean_database.db_password,
    )
    try:
        admin.cursor().execute(f"KILL {int(pooled.connection_id)}")
    finally:
        admin.close()

    outcomes = []
    for _ in range(2):
        try:
            storage.get_user("x")
            outcomes.append("ok")
        except Unavailable:
            outcomes.append("unavailable")
    assert outcomes[-1] == "ok"
    assert pooled not in [p.connection for p in connector._idle.queue]  # pylint: disable=protected-access


def test_unreachable_database_is_unavailable(clean_database):
    config = dataclasses.replace(clean_database, db_port=1)
    storage = create_container(config).storage()
    with pytest.raises(Unavailable):
        storage.get_user("x")
    with pytest.raises(Unavailable):
        storage.ping()


def test_cursor_before_filters_older_rows(container, storage):
    eid = storage.insert_experiment(Experiment(None, "vibrations")).experiment_id
    _store(storage, eid, [1, 2, 3])
    rows = storage.list_measures(MeasureQuery(eid, "A1", True, 10))
    cursor = MeasureCursor(rows[0].timestamp, rows[0].measure_id)
    older = storage.list_measures(MeasureQuery(eid, "A1", True, 10, before=cursor))
    assert [row.value for row in older] == [2.0, 1.0]
    assert container.measures_service().list_measures(ADMIN, eid).next_cursor is None
