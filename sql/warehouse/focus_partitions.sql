-- focus_partitions: one row per published (provider, billing period): which delivery it came
-- from, its row count and its cost totals. Rebuilt from the partitions' _published.json files.
CREATE OR REPLACE TABLE focus_partitions AS
SELECT provider, billing_period, source, delivery, source_files, rows, totals
FROM read_json(${published_glob}, columns = {
    provider: 'VARCHAR', billing_period: 'VARCHAR', source: 'VARCHAR', delivery: 'VARCHAR',
    source_files: 'VARCHAR[]', rows: 'BIGINT',
    totals: 'STRUCT(currency VARCHAR, billed_cost DECIMAL(38,12), effective_cost DECIMAL(38,12))[]'})
ORDER BY provider, billing_period;
