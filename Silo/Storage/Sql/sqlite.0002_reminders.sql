-- LOOM reminders on SQLite, read by Orleans' ADO.NET reminder table (Microsoft.Orleans.Reminders.AdoNet).
-- Parameters: @ServiceId, @GrainId (GrainId.ToString()), @ReminderName, @StartTime (UTC DateTime; stored as
-- Microsoft.Data.Sqlite's ISO text), @Period (milliseconds), @GrainHash (uniform hash as a signed int),
-- @BeginHash/@EndHash (ring range, exclusive begin, inclusive end) and @Version (the row's ETag).

-- Writing queries start with PRAGMA synchronous = NORMAL, as in 0001_storage (see there why).

CREATE TABLE loom_reminders (
    service_id     TEXT    NOT NULL,
    grain_id       TEXT    NOT NULL,
    reminder_name  TEXT    NOT NULL,
    start_time     TEXT    NOT NULL,
    period         INTEGER NOT NULL,
    grain_hash     INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
) WITHOUT ROWID;

-- Each silo reads the reminders of its slice of the hash ring.
CREATE INDEX loom_reminders_by_hash ON loom_reminders (service_id, grain_hash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowsKey', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime,
       period AS Period, version AS Version
FROM loom_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId;
');

-- Range that does not wrap around the ring (begin < end as signed ints).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows1Key', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime,
       period AS Period, version AS Version
FROM loom_reminders
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;
');

-- Range that wraps (or covers the whole ring when begin = end).
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadRangeRows2Key', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime,
       period AS Period, version AS Version
FROM loom_reminders
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);
');

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadReminderRowKey', '
SELECT grain_id AS GrainId, reminder_name AS ReminderName, start_time AS StartTime,
       period AS Period, version AS Version
FROM loom_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;
');

-- Reminder upserts are last-writer-wins by design (Orleans passes no version); the version still moves so
-- a later delete with an old ETag fails.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('UpsertReminderRowKey', '
PRAGMA synchronous = NORMAL;
INSERT INTO loom_reminders
    (service_id, grain_id, reminder_name, start_time, period, grain_hash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 1)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
    SET start_time = excluded.start_time,
        period = excluded.period,
        grain_hash = excluded.grain_hash,
        version = loom_reminders.version + 1
RETURNING version AS Version;
');

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowKey', '
PRAGMA synchronous = NORMAL;
DELETE FROM loom_reminders
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
  AND version = @Version;
SELECT changes() > 0;
');

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteReminderRowsKey', '
PRAGMA synchronous = NORMAL;
DELETE FROM loom_reminders WHERE service_id = @ServiceId;
');
