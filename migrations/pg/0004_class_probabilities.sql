-- 0004_class_probabilities.sql (PostgreSQL) — as migrations/0004_class_probabilities.sql for
-- SQLite: a classification's out-of-fold predictions keep every class's probability, a JSON array
-- in class order written with 17 significant digits (kept as text, so it reads back exactly);
-- NULL for a regression.
ALTER TABLE predictions ADD COLUMN probs TEXT;
