-- 0006_study_lease.sql — who drives a study (server/engine/srv_study.c): the node holding the
-- study's lease until lease_until (ms). On PostgreSQL several nodes share the studies and exactly
-- one of them drives each at a time (migrations/pg/0006_study_lease.sql); an SQLite store has
-- one process, whose lease is trivially its own: these columns stay NULL here, kept so that both
-- backends have one schema version.
ALTER TABLE studies ADD COLUMN lease_owner TEXT;
ALTER TABLE studies ADD COLUMN lease_until INTEGER;
