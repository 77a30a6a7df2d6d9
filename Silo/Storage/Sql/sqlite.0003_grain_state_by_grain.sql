-- loom_grain_state becomes a rowid table with its key in a unique index that starts with the grain.
--
-- Why (issue 11, bytes written per turn): as a WITHOUT ROWID table the rows lived in an index b-tree, where a row
-- keeps at most ~231 bytes on a 1 KiB page and spills the rest into overflow pages that are rewritten (freed and
-- reallocated) on every update; and the key started with the state name, so one turn's rows (header, journal
-- record, memory delta, audit) sat in four distant leaves. In a rowid table a row keeps up to ~989 bytes on its
-- page, new rows of every grain are appended to the same last leaf, and the grain-first index keeps one grain's
-- keys together. Every query still finds a row by the whole key; ON CONFLICT targets match the unique index
-- whatever the order of its columns.
CREATE TABLE loom_grain_state_by_grain (
    service_id    TEXT    NOT NULL,
    state_name    TEXT    NOT NULL,
    grain_id_n0   INTEGER NOT NULL,
    grain_id_n1   INTEGER NOT NULL,
    grain_id_ext  TEXT    NOT NULL,
    payload       BLOB    NULL,
    version       INTEGER NOT NULL,
    modified_at   TEXT    NOT NULL
);

INSERT INTO loom_grain_state_by_grain (service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_at)
SELECT service_id, state_name, grain_id_n0, grain_id_n1, grain_id_ext, payload, version, modified_at
FROM loom_grain_state
ORDER BY service_id, grain_id_n0, grain_id_n1, grain_id_ext, state_name;

DROP TABLE loom_grain_state;

ALTER TABLE loom_grain_state_by_grain RENAME TO loom_grain_state;

CREATE UNIQUE INDEX loom_grain_state_key ON loom_grain_state (service_id, grain_id_n0, grain_id_n1, grain_id_ext, state_name);
