-- 0004_class_probabilities.sql — a classification's out-of-fold predictions keep every class's
-- probability. A prediction row stays one per (data row, target): for a classification, actual
-- and predicted hold class indices (actual NULL where the row has no label) and probs the
-- probabilities of the classes, in class order, as a JSON array of numbers written with 17
-- significant digits (they read back exactly); the class labels are the run's metrics'
-- "classes". NULL for a regression. One column rather than a row per class: a prediction is
-- read and written whole, in row order, and is never looked up by class; the number of classes
-- differs from run to run, so a column per class cannot be fixed.
ALTER TABLE predictions ADD COLUMN probs TEXT;
