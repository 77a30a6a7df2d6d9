-- loom_grain_state's primary key starts with the grain instead of the state name.
--
-- Why: listing one grain's rows by name prefix (an owner's index entries, an owner's pending usage, a session's
-- pending support reads) could not seek to one grain in a key that starts with the state name: PostgreSQL read the
-- rows of every grain with that prefix, or the whole table where the collation cannot range over a prefix (EXPLAIN
-- ANALYZE at 600,000 rows: parallel sequential scan, 83 ms; with this key: index scan, 0.7 ms). Every other
-- query names the whole key, which either order serves. The constraint keeps its name, so ON CONFLICT ON CONSTRAINT
-- loom_grain_state_pk still finds it. SQLite made the same change in its 0003. The table is locked while the key is
-- built (1.9 s for 1,000,000 rows on the 2-core reference machine): running silos' storage calls wait that long.
ALTER TABLE loom_grain_state
    DROP CONSTRAINT loom_grain_state_pk,
    ADD CONSTRAINT loom_grain_state_pk PRIMARY KEY (service_id, grain_id_n0, grain_id_n1, grain_id_ext, state_name);
