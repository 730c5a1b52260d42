"""The JSON the API writes matches the schemas it documents; messages never echo input."""

from __future__ import annotations

from datetime import datetime, timezone

import marshmallow as ma
import pytest

from my_monit.model import Experiment, MeasureType
from my_monit.rest import schemas
from my_monit.storage import MeasureRow

from rest_doubles import SCIENTIST

MARKER = "Zq7-marker@example.org"


@pytest.mark.parametrize(
    ("schema", "payload"),
    [
        (schemas.UserSchema(), schemas.user_json(SCIENTIST)),
        (schemas.ExperimentSchema(), schemas.experiment_json(Experiment(1, "a"))),
        (schemas.MeasureTypeSchema(), schemas.measure_type_json(MeasureType("hertz", "Hz", "f"))),
        (
            schemas.MeasureSchema(),
            schemas.measure_json(
                MeasureRow(1, "a", "hertz", datetime(2022, 1, 1, tzinfo=timezone.utc), 1.5)
            ),
        ),
    ],
)
def test_written_json_has_exactly_the_documented_fields(schema: ma.Schema, payload: dict) -> None:
    assert set(payload) == set(schema.fields)


@pytest.mark.parametrize(
    "schema",
    [
        schemas.UserSchema(),
        schemas.UserChangesSchema(),
        schemas.ExperimentSchema(),
        schemas.ExperimentChangesSchema(),
        schemas.MeasureTypeSchema(),
        schemas.MeasureQuerySchema(),
        schemas.UserListQuerySchema(),
        schemas.ExperimentListQuerySchema(),
    ],
)
@pytest.mark.parametrize("value", [MARKER, MARKER * 20, 12345678, [MARKER], {"a": MARKER}])
def test_no_validation_message_repeats_the_submitted_value(
    schema: ma.Schema, value: object
) -> None:
    data = {field.data_key or name: value for name, field in schema.fields.items()}

    with pytest.raises(ma.ValidationError) as error:
        schema.load(data)

    assert MARKER not in repr(error.value.messages)
    assert "12345678" not in repr(error.value.messages)
