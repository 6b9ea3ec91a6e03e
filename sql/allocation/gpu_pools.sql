-- gpu_pools: one row per shared pool x billing month (x currency): GPU-hours paid (the pool's
-- instance-hours x GPUs), used (the usage file, that month), idle (paid - used, never
-- negative), utilization %, the pool's cost and its cost per used GPU-hour (a rate for
-- reading, not a conserved amount).
CREATE OR REPLACE TABLE gpu_pools AS
WITH paid AS (
    SELECT owner_rank, billing_period, sum(paid_gpu_hours) AS paid_gpu_hours
    FROM alloc_pool_lines
    GROUP BY owner_rank, billing_period
), used AS (
    SELECT owner_rank, strftime(usage_start, '%Y-%m') AS billing_period, sum(gpu_hours) AS used_gpu_hours
    FROM alloc_pool_usage
    GROUP BY owner_rank, strftime(usage_start, '%Y-%m')
), cost AS (
    SELECT x_RuleId AS pool, billing_period, BillingCurrency,
           sum(EffectiveCost) AS EffectiveCost, sum(BilledCost) AS BilledCost
    FROM allocated_costs
    WHERE AllocatedMethodId LIKE 'pool-%'
    GROUP BY x_RuleId, billing_period, BillingCurrency
), hours AS (
    SELECT o.owner_id AS pool, p.billing_period, p.paid_gpu_hours,
           coalesce(u.used_gpu_hours, 0) AS used_gpu_hours
    FROM paid AS p
    JOIN alloc_owners AS o ON o.owner_rank = p.owner_rank
    LEFT JOIN used AS u ON u.owner_rank = p.owner_rank AND u.billing_period = p.billing_period
)
SELECT c.pool, c.billing_period, c.BillingCurrency, h.paid_gpu_hours, h.used_gpu_hours,
       greatest(h.paid_gpu_hours - h.used_gpu_hours, 0) AS idle_gpu_hours,
       CASE WHEN h.paid_gpu_hours > 0 THEN round(100 * least(h.used_gpu_hours, h.paid_gpu_hours) / h.paid_gpu_hours, 2) END
           AS utilization_pct,
       c.EffectiveCost, c.BilledCost,
       CASE WHEN h.used_gpu_hours > 0 THEN CAST(round(c.EffectiveCost / h.used_gpu_hours, 6) AS DECIMAL(38, 6)) END
           AS cost_per_used_gpu_hour
FROM cost AS c
LEFT JOIN hours AS h ON h.pool = c.pool AND h.billing_period = c.billing_period
ORDER BY c.pool, c.billing_period, c.BillingCurrency;
