-- MyMONIT schema, version 003: message ids compared byte for byte.
--
-- A VARCHAR in utf8mb4_bin pads with spaces in MariaDB, so the ids 'a' and 'a ' collided
-- as one key while the consumer saw two; AMQP message ids are also any bytes, not only
-- UTF-8. A binary column compares them exactly. The index on consumed_at lets an operator
-- prune old ids (docs/operations.md) without a full scan.

ALTER TABLE consumed_messages
    MODIFY message_id VARBINARY(255) NOT NULL,
    ADD KEY consumed_messages_consumed_at (consumed_at);

INSERT IGNORE INTO schema_migrations (version) VALUES ('003');
