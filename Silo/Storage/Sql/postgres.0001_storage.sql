-- LOOM grain state on PostgreSQL, read by Orleans' ADO.NET grain storage (provider "loom", invariant "Npgsql").
-- Applied only by the migrate command; silos check the schema version and never create tables.
--
-- Orleans loads its SQL at run time from OrleansQuery (unquoted, so PostgreSQL folds it to orleansquery).
-- Parameters: @ServiceId, @GrainTypeString (the [PersistentState] name), @GrainIdN0, @GrainIdN1,
-- @GrainIdExtensionString (NULL when none), @GrainIdHash, @GrainTypeHash; writes add @GrainStateVersion
-- (NULL on a first write) and @PayloadBinary.
--
-- Version protocol: write/clear/delete return ONE row holding the new version, or NULL when the caller's
-- version is stale ("no row" would be accepted silently for a first write).

CREATE TABLE OrleansQuery (
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- A real primary key: two racing first writes cannot both insert (the loser's ON CONFLICT DO NOTHING
-- waits for the winner and then yields nothing). grain_id_ext stores '' for "no extension".
CREATE TABLE loom_grain_state (
    service_id    text        NOT NULL,
    state_name    text        NOT NULL,
    grain_id_n0   bigint      NOT NULL,
    grain_id_n1   bigint      NOT NULL,
    grain_id_ext  text        NOT NULL,
    payload       bytea       NULL,      -- NULL after a clear: the row and its version survive
    version       integer     NOT NULL,
    modified_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT loom_grain_state_pk
        PRIMARY KEY (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext)
);

-- Write, one statement, five cases:
--   no version, no row       -> inserted with version 1
--   no version, row exists   -> DO NOTHING, and the UPDATE needs a version -> NULL
--   version v, row at v      -> UPDATE to v+1 (a concurrent writer re-checks version after the row lock)
--   version v, row at w <> v -> NULL
--   version v, no row        -> NULL
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', $sql$
WITH inserted AS (
    INSERT INTO loom_grain_state
        (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_at)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''),
           @PayloadBinary, 1, now()
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT ON CONSTRAINT loom_grain_state_pk DO NOTHING
    RETURNING version
), updated AS (
    UPDATE loom_grain_state
    SET payload = @PayloadBinary, version = version + 1, modified_at = now()
    WHERE service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND grain_id_ext = COALESCE(@GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version
)
SELECT (SELECT version FROM inserted UNION ALL SELECT version FROM updated LIMIT 1) AS "NewGrainStateVersion";
$sql$);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ReadFromStorageKey', $sql$
SELECT payload AS "PayloadBinary", version AS "Version", modified_at AS "ModifiedOn"
FROM loom_grain_state
WHERE service_id = @ServiceId AND state_name = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
  AND grain_id_ext = COALESCE(@GrainIdExtensionString, '');
$sql$);

-- Clear keeps the row (payload NULL, version bumped) so a stale writer is still detected afterwards.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('ClearStorageKey', $sql$
WITH cleared AS (
    UPDATE loom_grain_state
    SET payload = NULL, version = version + 1, modified_at = now()
    WHERE service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND grain_id_ext = COALESCE(@GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version
)
SELECT (SELECT version FROM cleared) AS "NewGrainStateVersion";
$sql$);

-- Used instead of ClearStorageKey when DeleteStateOnClear is set; returns v + 1 because the provider treats
-- an unchanged version as a conflict.
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('DeleteStorageKey', $sql$
WITH deleted AS (
    DELETE FROM loom_grain_state
    WHERE service_id = @ServiceId AND state_name = @GrainTypeString
      AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
      AND grain_id_ext = COALESCE(@GrainIdExtensionString, '')
      AND version = @GrainStateVersion
    RETURNING version + 1 AS version
)
SELECT (SELECT version FROM deleted) AS "NewGrainStateVersion";
$sql$);
