-- 0006_study_lease.sql (PostgreSQL) — who drives a study: exactly one node at a time steps a
-- running study (server/engine/srv_study.c). It holds the study's lease, lease_owner (its node
-- id) until lease_until (ms of the database's clock, nnd_now_ms()), renews it while it drives,
-- and writes the study's record only while it holds it; another node takes the study over once
-- the lease has expired (a killed node), rebuilding the machine from the stored record.
ALTER TABLE studies ADD COLUMN lease_owner TEXT;
ALTER TABLE studies ADD COLUMN lease_until BIGINT;
