-- focus_costs: one row per FOCUS 1.2 cost line, every provider and billing period, read live
-- from the published Parquet partitions (hive columns: provider, billing_period).
CREATE OR REPLACE VIEW focus_costs AS
SELECT *
FROM read_parquet(${focus_glob}, hive_partitioning = true, union_by_name = true);
