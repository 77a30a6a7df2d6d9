-- LOOM reminders on PostgreSQL, read by Orleans' ADO.NET reminder table (Microsoft.Orleans.Reminders.AdoNet).
-- Parameters: @ServiceId, @GrainId (GrainId.ToString()), @ReminderName, @StartTime (UTC), @Period
-- (milliseconds, int or bigint), @GrainHash (uniform hash as a signed int), @BeginHash/@EndHash (ring range,
-- exclusive begin, inclusive end) and @Version (the row's ETag).

CREATE TABLE loom_reminders (
    service_id     text        NOT NULL,
    grain_id       text        NOT NULL,
    reminder_name  text        NOT NULL,
    start_time     timestamptz NOT NULL,
    period         bigint      NOT NULL,
    grain_hash     integer     NOT NULL,
    version        integer     NOT NULL,
    CONSTRAINT loom_reminders_pk PRIMARY KEY (service_id, grain_id, reminder_name)
);

-- Each silo reads the reminders of its slice of the hash ring.
CREATE INDEX loom_reminders_by_hash ON loom_reminders (service_id, grain_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM loom_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId;
$sql$);

-- Range that does not wrap around the ring (begin < end as signed ints).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM loom_reminders
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
$sql$);

-- Range that wraps (or covers the whole ring when begin = end).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM loom_reminders
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
$sql$);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', $sql$
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
       period AS "Period", version AS "Version"
FROM loom_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
$sql$);

-- Reminder upserts are last-writer-wins by design (Orleans passes no version); the version still moves so
-- a later delete with an old ETag fails.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', $sql$
INSERT INTO loom_reminders
    (service_id, grain_id, reminder_name, start_time, period, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT ON CONSTRAINT loom_reminders_pk DO UPDATE
    SET start_time = excluded.start_time,
        period = excluded.period,
        grain_hash = excluded.grain_hash,
        version = loom_reminders.version + 1
RETURNING version AS "Version";
$sql$);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', $sql$
WITH deleted AS (
    DELETE FROM loom_reminders
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
      AND version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM deleted);
$sql$);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', $sql$
DELETE FROM loom_reminders WHERE service_id = @ServiceId;
$sql$);
