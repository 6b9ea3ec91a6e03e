-- gpu_pools: one row per shared pool x billing month: GPU-hours paid (instance-hours x GPUs),
-- used (the usage file, in windows with cost), idle (paid - used), utilization %, the pool's
-- cost and its cost per used GPU-hour (a rate for reading, not a conserved amount).
CREATE OR REPLACE TABLE gpu_pools AS
WITH windows AS (
    SELECT DISTINCT w.owner_rank, w.window_start, w.paid_gpu_hours, w.used_gpu_hours, w.idle_gpu_hours,
           p.billing_period
    FROM alloc_pool_windows AS w
    JOIN (SELECT DISTINCT owner_rank, window_start, billing_period FROM alloc_pool_lines) AS p
      ON p.owner_rank = w.owner_rank AND p.window_start = w.window_start
), hours AS (
    SELECT o.owner_id AS pool, billing_period, sum(paid_gpu_hours) AS paid_gpu_hours,
           sum(used_gpu_hours) AS used_gpu_hours, sum(idle_gpu_hours) AS idle_gpu_hours
    FROM windows
    JOIN alloc_owners AS o ON o.owner_rank = windows.owner_rank
    GROUP BY o.owner_id, billing_period
), cost AS (
    SELECT x_RuleId AS pool, billing_period, BillingCurrency,
           sum(EffectiveCost) AS EffectiveCost, sum(BilledCost) AS BilledCost
    FROM allocated_costs
    WHERE AllocatedMethodId LIKE 'pool-%'
    GROUP BY x_RuleId, billing_period, BillingCurrency
)
SELECT c.pool, c.billing_period, c.BillingCurrency, h.paid_gpu_hours, h.used_gpu_hours, h.idle_gpu_hours,
       CASE WHEN h.paid_gpu_hours > 0 THEN round(100 * least(h.used_gpu_hours, h.paid_gpu_hours) / h.paid_gpu_hours, 2) END
           AS utilization_pct,
       c.EffectiveCost, c.BilledCost,
       CASE WHEN h.used_gpu_hours > 0 THEN CAST(round(c.EffectiveCost / h.used_gpu_hours, 6) AS DECIMAL(38, 6)) END
           AS cost_per_used_gpu_hour
FROM cost AS c
LEFT JOIN hours AS h ON h.pool = c.pool AND h.billing_period = c.billing_period
ORDER BY c.pool, c.billing_period, c.BillingCurrency;
