-- MyMONIT schema, version 004: an email is taken whatever its letter case.
--
-- users_email_unique compares emails byte for byte (utf8mb4_bin), so Jim@Example.org and
-- jim@example.org could belong to two users. A stored lower-case copy with a unique key
-- refuses the second one; the email itself keeps the case its owner gave. Erased users'
-- emails are NULL, which a unique key allows any number of times.

ALTER TABLE users
    ADD COLUMN email_lower VARCHAR(254) AS (LOWER(email)) STORED,
    ADD CONSTRAINT users_email_lower_unique UNIQUE (email_lower);

INSERT IGNORE INTO schema_migrations (version) VALUES ('004');
