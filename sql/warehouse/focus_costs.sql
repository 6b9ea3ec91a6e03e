-- focus_costs: one row per FOCUS 1.2 cost line, every provider and billing period, read live
-- from the published Parquet partitions (hive columns: provider, billing_period).
-- The KeyValueFormat columns are stored as JSON text (normalizers/focus_contract.py); typed JSON here.
CREATE OR REPLACE VIEW focus_costs AS
SELECT * REPLACE (CAST(Tags AS JSON) AS Tags, CAST(SkuPriceDetails AS JSON) AS SkuPriceDetails,
                  CAST(x_Credits AS JSON) AS x_Credits)
FROM read_parquet(${focus_glob}, hive_partitioning = true, union_by_name = true);
