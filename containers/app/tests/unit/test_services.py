"""Unit tests of the services' authorization rules, with storage mocked."""

from datetime import datetime, timezone
from unittest.mock import MagicMock

import pytest

from my_monit.errors import Forbidden, InvalidArgument, NotFound
from my_monit.model import Experiment, MeasureType, Role, User
from my_monit.services import ExperimentService, MeasuresService, UserService
from my_monit.storage import MeasureCursor, MeasureRow

ADMIN = User("A1", "Ada Admin", "uid-admin", "ada@example.org", Role.ADMIN)
SCIENTIST = User("S1", "Sam Science", "uid-sam", "sam@example.org", Role.SCIENTIST)
OTHER = User("S2", "Olga Other", "uid-olga", "olga@example.org", Role.SCIENTIST)


@pytest.fixture(name="storage")
def fixture_storage():
    return MagicMock()


@pytest.fixture(name="users")
def fixture_users(storage):
    return UserService(storage)


@pytest.fixture(name="experiments")
def fixture_experiments(storage):
    return ExperimentService(storage)


@pytest.fixture(name="measures")
def fixture_measures(storage, experiments):
    return MeasuresService(storage, experiments)


def test_authenticate_maps_uid_to_user(users, storage):
    storage.get_user_by_username.return_value = SCIENTIST
    assert users.authenticate("uid-sam") is SCIENTIST
    storage.get_user_by_username.assert_called_with("uid-sam")


@pytest.mark.parametrize("found", [None, User("S3", None, None, None, erased=True)])
def test_authenticate_refuses_unknown_or_erased(users, storage, found):
    storage.get_user_by_username.return_value = found
    with pytest.raises(Forbidden):
        users.authenticate("uid-x")


def test_create_user_by_admin_is_stored(users, storage):
    assert users.create_user(ADMIN, SCIENTIST) is SCIENTIST
    storage.insert_user.assert_called_once_with(SCIENTIST)


def test_create_user_by_scientist_is_forbidden(users, storage):
    with pytest.raises(Forbidden):
        users.create_user(SCIENTIST, OTHER)
    storage.insert_user.assert_not_called()


def test_create_admin_needs_the_admin_role(users, storage):
    with pytest.raises(InvalidArgument):
        users.create_admin(SCIENTIST)
    users.create_admin(ADMIN)
    storage.insert_user.assert_called_once_with(ADMIN)


def test_list_users_pages_with_a_cursor(users, storage):
    storage.list_users.return_value = [ADMIN, SCIENTIST, OTHER]
    page = users.list_users(ADMIN, after="", limit=2)
    assert page.items == [ADMIN, SCIENTIST] and page.next_cursor == "S1"
    storage.list_users.assert_called_with("", 3)


def test_list_users_last_page_has_no_cursor(users, storage):
    storage.list_users.return_value = [ADMIN]
    assert users.list_users(ADMIN, limit=2).next_cursor is None


@pytest.mark.parametrize("limit", [0, 10001, -1])
def test_list_users_refuses_bad_limits(users, limit):
    with pytest.raises(InvalidArgument):
        users.list_users(ADMIN, limit=limit)


def test_user_reads_themselves_but_not_others(users, storage):
    storage.get_user.return_value = SCIENTIST
    assert users.get_user(SCIENTIST, "S1") is SCIENTIST
    with pytest.raises(Forbidden):
        users.get_user(SCIENTIST, "S2")


def test_get_missing_or_erased_user_is_not_found(users, storage):
    storage.get_user.return_value = User("S3", None, None, None, erased=True)
    with pytest.raises(NotFound):
        users.get_user(ADMIN, "S3")


def test_user_updates_own_name_and_email(users, storage):
    storage.get_user.return_value = SCIENTIST
    updated = users.update_user(SCIENTIST, "S1", {"name": "Sam S", "email": "s@example.org"})
    assert (updated.name, updated.email, updated.username) == ("Sam S", "s@example.org", "uid-sam")
    storage.update_user.assert_called_once_with(updated)


@pytest.mark.parametrize("changes", [{"role": "ADMIN"}, {"username": "uid-new"}])
def test_user_may_not_change_own_role_or_username(users, storage, changes):
    storage.get_user.return_value = SCIENTIST
    with pytest.raises(Forbidden):
        users.update_user(SCIENTIST, "S1", changes)
    storage.update_user.assert_not_called()


def test_user_may_resend_unchanged_role(users, storage):
    storage.get_user.return_value = SCIENTIST
    users.update_user(SCIENTIST, "S1", {"role": "SCIENTIST", "name": "Sam"})
    storage.update_user.assert_called_once()


def test_admin_changes_role_and_username(users, storage):
    storage.get_user.return_value = SCIENTIST
    updated = users.update_user(ADMIN, "S1", {"role": "ADMIN", "username": "uid-new"})
    assert updated.role is Role.ADMIN and updated.username == "uid-new"


def test_update_validates_the_result(users, storage):
    storage.get_user.return_value = SCIENTIST
    with pytest.raises(InvalidArgument):
        users.update_user(ADMIN, "S1", {"email": "nope"})
    storage.update_user.assert_not_called()


def test_erase_is_admin_only_and_not_self(users, storage):
    with pytest.raises(Forbidden):
        users.erase_user(SCIENTIST, "S2")
    with pytest.raises(InvalidArgument):
        users.erase_user(ADMIN, "A1")
    users.erase_user(ADMIN, "S1")
    storage.erase_user.assert_called_once_with("S1")


def test_insert_experiment_ok(experiments, storage):
    storage.insert_experiment.return_value = Experiment(4, "abc")
    assert experiments.create_experiment(ADMIN, "abc") == Experiment(4, "abc")
    storage.insert_experiment.assert_called_with(Experiment(experiment_id=None, name="abc"))


def test_scientist_cannot_create_or_rename_experiments(experiments, storage):
    with pytest.raises(Forbidden):
        experiments.create_experiment(SCIENTIST, "abc")
    with pytest.raises(Forbidden):
        experiments.update_experiment(SCIENTIST, 1, "abc")
    storage.insert_experiment.assert_not_called()
    storage.update_experiment.assert_not_called()


def test_scientist_lists_only_own_experiments(experiments, storage):
    storage.list_user_experiments.return_value = [Experiment(1, "a")]
    assert experiments.list_experiments(SCIENTIST).items == [Experiment(1, "a")]
    storage.list_user_experiments.assert_called_with("S1", 0, 1001)
    storage.list_experiments.assert_not_called()


def test_scientist_reads_only_associated_experiment(experiments, storage):
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.is_associated.return_value = False
    with pytest.raises(Forbidden):
        experiments.get_experiment(SCIENTIST, 1)
    storage.is_associated.return_value = True
    assert experiments.get_experiment(SCIENTIST, 1) == Experiment(1, "a")


def test_missing_experiment_is_not_found(experiments, storage):
    storage.get_experiment.return_value = None
    with pytest.raises(NotFound):
        experiments.get_experiment(ADMIN, 9)


def test_associate_refuses_non_scientists(experiments, storage):
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.get_user.return_value = ADMIN
    with pytest.raises(InvalidArgument):
        experiments.associate(ADMIN, 1, "A1")
    storage.insert_association.assert_not_called()


def test_associate_missing_user_is_not_found(experiments, storage):
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.get_user.return_value = None
    with pytest.raises(NotFound):
        experiments.associate(ADMIN, 1, "S9")


def test_associations_are_grouped_by_experiment(experiments, storage):
    storage.list_associations.return_value = [(1, SCIENTIST), (1, OTHER), (2, OTHER)]
    page = experiments.list_associations(ADMIN, limit=2)
    assert page.items == [(1, [SCIENTIST, OTHER]), (2, [OTHER])] and page.next_cursor is None
    storage.list_associations.assert_called_once_with(0, 3)
    storage.list_associations.return_value = [(4, SCIENTIST), (5, OTHER), (6, OTHER)]
    page = experiments.list_associations(ADMIN, after=3, limit=2)
    assert page.items == [(4, [SCIENTIST]), (5, [OTHER])] and page.next_cursor == 5
    with pytest.raises(Forbidden):
        experiments.list_associations(SCIENTIST)


def test_dissociate_is_admin_only(experiments, storage):
    with pytest.raises(Forbidden):
        experiments.dissociate(SCIENTIST, 1, "S1")
    experiments.dissociate(ADMIN, 1, "S1")
    storage.delete_association.assert_called_once_with(1, "S1")


def _row(measure_id, second):
    stamp = datetime(2022, 1, 1, 0, 0, second, tzinfo=timezone.utc)
    return MeasureRow(measure_id, "a", "hertz", stamp, 1.0)


def test_measures_filter_is_in_the_query(measures, storage):
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.is_associated.return_value = True
    storage.list_measures.return_value = [_row(3, 3), _row(2, 2), _row(1, 1)]
    page = measures.list_measures(SCIENTIST, 1, limit=2)
    query = storage.list_measures.call_args.args[0]
    assert (query.actor_id, query.see_all, query.limit) == ("S1", False, 3)
    assert page.items == [_row(3, 3), _row(2, 2)]
    assert page.next_cursor == MeasureCursor(_row(2, 2).timestamp, 2)


def test_measures_of_unassociated_experiment_are_forbidden(measures, storage):
    storage.list_measures.return_value = []  # the query tests the association itself
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.is_associated.return_value = False
    with pytest.raises(Forbidden):
        measures.list_measures(OTHER, 1)
    query = storage.list_measures.call_args.args[0]
    assert (query.actor_id, query.see_all) == ("S2", False)


def test_an_empty_page_of_a_missing_experiment_is_not_found(measures, storage):
    storage.list_measures.return_value = []
    storage.get_experiment.return_value = None
    with pytest.raises(NotFound):
        measures.list_measures(ADMIN, 1)


def test_an_empty_page_of_an_associated_scientist_is_a_page(measures, storage):
    storage.list_measures.return_value = []
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.is_associated.return_value = True
    page = measures.list_measures(SCIENTIST, 1)
    assert page.items == [] and page.next_cursor is None
    storage.is_associated.assert_called_once_with(1, "S1")


def test_rows_prove_access_without_more_queries(measures, storage):
    storage.list_measures.return_value = [_row(2, 2), _row(1, 1)]
    page = measures.list_measures(SCIENTIST, 1)
    assert len(page.items) == 2
    storage.get_experiment.assert_not_called()
    storage.is_associated.assert_not_called()


def test_measures_from_after_to_is_invalid(measures):
    later = datetime(2022, 1, 2, tzinfo=timezone.utc)
    earlier = datetime(2022, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(InvalidArgument) as caught:
        measures.list_measures(ADMIN, 1, since=later, until=earlier)
    assert caught.value.which == "from"


def test_measure_types_any_user_reads_admin_creates(measures, storage):
    storage.list_measure_types.return_value = [MeasureType("hertz", "Hz", "frequency")]
    assert measures.list_measure_types().items[0].name == "hertz"
    storage.list_measure_types.return_value = [
        MeasureType("a", "a", "x"), MeasureType("b", "b", "x"), MeasureType("c", "c", "x")
    ]
    page = measures.list_measure_types("", 2)
    assert [t.name for t in page.items] == ["a", "b"] and page.next_cursor == "b"
    storage.list_measure_types.assert_called_with("", 3)
    with pytest.raises(Forbidden):
        measures.create_measure_type(SCIENTIST, MeasureType("bar", "bar", "pressure"))
    measures.create_measure_type(ADMIN, MeasureType("bar", "bar", "pressure"))
    storage.insert_measure_type.assert_called_once()


def test_export_checks_access_before_giving_any_row(measures, storage):
    storage.list_measures.return_value = []
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.is_associated.return_value = False
    with pytest.raises(Forbidden):
        measures.export_measures(OTHER, 1)


def test_export_reads_chunk_after_chunk_from_the_last_cursor(measures, storage):
    storage.get_experiment.return_value = Experiment(1, "a")
    storage.is_associated.return_value = True
    storage.list_measures.side_effect = [
        [_row(5, 5), _row(4, 4), _row(3, 3)],
        [_row(3, 3), _row(2, 2), _row(1, 1)],
        [_row(1, 1)],
    ]
    rows = list(measures.export_measures(SCIENTIST, 1, chunk=2))
    assert [row.measure_id for row in rows] == [5, 4, 3, 2, 1]
    cursors = [call.args[0].before for call in storage.list_measures.call_args_list]
    assert cursors == [None, MeasureCursor(_row(4, 4).timestamp, 4),
                       MeasureCursor(_row(2, 2).timestamp, 2)]
