-- MyMONIT schema, version 001: users, roles, experiments, associations, measures.
-- Applied by `mymonit db upgrade` and by the MySQL container's first start
-- (docker-entrypoint-initdb.d), always inside the target database.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version     VARCHAR(16)  NOT NULL PRIMARY KEY,
    applied_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS roles (
    role_id  TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    name     VARCHAR(16)      NOT NULL UNIQUE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO roles (role_id, name) VALUES (1, 'ADMIN'), (2, 'SCIENTIST');

-- An erased user keeps its staff id and role; name, username and email become NULL,
-- which unique keys allow many times.
CREATE TABLE IF NOT EXISTS users (
    user_id    VARCHAR(30)      NOT NULL PRIMARY KEY,
    name       VARCHAR(100)     NULL,
    username   VARCHAR(128)     NULL,
    email      VARCHAR(254)     NULL,
    role_id    TINYINT UNSIGNED NOT NULL,
    erased_at  DATETIME(6)      NULL,
    CONSTRAINT users_username_unique UNIQUE (username),
    CONSTRAINT users_email_unique UNIQUE (email),
    CONSTRAINT users_role_fk FOREIGN KEY (role_id) REFERENCES roles (role_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS experiments (
    experiment_id  INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name           VARCHAR(100) NOT NULL,
    CONSTRAINT experiments_name_unique UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS scientists_experiments (
    experiment_id  INT UNSIGNED NOT NULL,
    user_id        VARCHAR(30)  NOT NULL,
    PRIMARY KEY (experiment_id, user_id),
    KEY scientists_experiments_user (user_id),
    CONSTRAINT scientists_experiments_experiment_fk
        FOREIGN KEY (experiment_id) REFERENCES experiments (experiment_id) ON DELETE CASCADE,
    CONSTRAINT scientists_experiments_user_fk
        FOREIGN KEY (user_id) REFERENCES users (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS measure_types (
    measure_type_id  SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name             VARCHAR(64)  NOT NULL,
    symbol           VARCHAR(16)  NOT NULL,
    quantity         VARCHAR(100) NOT NULL,
    CONSTRAINT measure_types_name_unique UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One narrow row per value: a new measure type is a row in measure_types, never a column.
-- DATETIME(6) in UTC keeps microseconds and reaches year 9999 (TIMESTAMP stops in 2038).
-- The secondary key (experiment_id, taken_at) carries measure_id as its last part, which
-- serves "this experiment, this time range, newest first" and its keyset pagination.
CREATE TABLE IF NOT EXISTS measures (
    measure_id       BIGINT UNSIGNED   NOT NULL AUTO_INCREMENT PRIMARY KEY,
    experiment_id    INT UNSIGNED      NOT NULL,
    measure_type_id  SMALLINT UNSIGNED NOT NULL,
    taken_at         DATETIME(6)       NOT NULL,
    value            DOUBLE            NOT NULL,
    KEY measures_experiment_time (experiment_id, taken_at),
    CONSTRAINT measures_experiment_fk
        FOREIGN KEY (experiment_id) REFERENCES experiments (experiment_id),
    CONSTRAINT measures_type_fk
        FOREIGN KEY (measure_type_id) REFERENCES measure_types (measure_type_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- AMQP message ids already stored, so that a redelivered message is stored once.
CREATE TABLE IF NOT EXISTS consumed_messages (
    message_id   VARCHAR(255) NOT NULL PRIMARY KEY,
    consumed_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_migrations (version) VALUES ('001');
