-- The order a run's steps completed in (its stack), so that a run trimmed from Redis can be
-- loaded again whole (a rerun from a step). NULL for steps recorded before this column.
ALTER TABLE steps ADD COLUMN position integer;
