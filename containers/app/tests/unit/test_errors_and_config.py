"""Unit tests of the domain errors and the configuration."""

import pytest

from my_monit.config import Config, ConfigurationError, variables
from my_monit.errors import Conflict, Forbidden, InvalidArgument, NotFound


def test_errors_carry_what_and_which():
    error = NotFound("experiment", 7)
    assert (error.what, error.which) == ("experiment", 7)
    assert str(error) == "experiment 7 not found"


def test_error_reason_is_in_the_message():
    assert str(Conflict("user", "email", "is already taken")) == "user email: is already taken"
    assert str(Forbidden("erase user")) == "erase user"
    assert str(InvalidArgument("query", "limit", "too big")) == "query limit: too big"


def test_defaults_follow_the_contract():
    config = Config.from_env({})
    assert (config.db_host, config.db_port, config.db_user, config.db_password) == (
        "localhost",
        3306,
        "root",
        "password",
    )
    assert config.db_database == "my_monit"
    assert (config.rabbit_url, config.rabbit_user, config.rabbit_password) == (
        "localhost",
        "guest",
        "guest",
    )
    assert (config.rabbit_exchange, config.rabbit_routing, config.rabbit_queue) == (
        "mymonit",
        "measures",
        "measures",
    )
    assert (config.rest_host, config.rest_port, config.health_port) == ("0.0.0.0", 5000, 8081)
    assert (config.logstash_host, config.logstash_port) == ("localhost", 5959)
    assert config.firebase_project_id is None and config.firebase_auth_emulator_host is None


def test_environment_overrides_defaults():
    config = Config.from_env({"DB_PORT": "3307", "DB_PASSWORD": "", "REST_PORT": "8000"})
    assert (config.db_port, config.db_password, config.rest_port) == (3307, "", 8000)


@pytest.mark.parametrize(
    "variable, value", [("DB_PORT", "abc"), ("DB_PORT", "0"), ("REST_PORT", "70000")]
)
def test_unusable_value_names_the_variable(variable, value):
    with pytest.raises(ConfigurationError, match=variable):
        Config.from_env({variable: value})


def test_every_variable_has_a_field():
    config = Config.from_env({})
    assert set(config.as_dict()) >= {name.lower() for name in variables()}
