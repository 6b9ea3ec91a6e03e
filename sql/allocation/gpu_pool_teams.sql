-- gpu_pool_teams: one row per shared pool x billing month x recipient (each team that used it,
-- and the platform team's idle line when idle is its own line) x currency: its GPU-hours (used;
-- the month's idle hours for the idle line), its share of the month's used hours, allocated
-- EffectiveCost and BilledCost, and cost per used GPU-hour.
CREATE OR REPLACE TABLE gpu_pool_teams AS
WITH team_hours AS (
    SELECT o.owner_id AS pool, strftime(u.usage_start, '%Y-%m') AS billing_period, u.team AS x_Team,
           sum(u.gpu_hours) AS gpu_hours
    FROM alloc_pool_usage AS u
    JOIN alloc_owners AS o ON o.owner_rank = u.owner_rank
    GROUP BY o.owner_id, strftime(u.usage_start, '%Y-%m'), u.team
), cost AS (
    SELECT x_RuleId AS pool, billing_period, x_Team,
           CASE WHEN AllocatedMethodId = 'pool-idle' THEN 'idle' ELSE 'usage' END AS kind, BillingCurrency,
           sum(EffectiveCost) AS EffectiveCost, sum(BilledCost) AS BilledCost
    FROM allocated_costs
    WHERE AllocatedMethodId LIKE 'pool-%'
    GROUP BY x_RuleId, billing_period, x_Team, CASE WHEN AllocatedMethodId = 'pool-idle' THEN 'idle' ELSE 'usage' END,
             BillingCurrency
)
SELECT c.pool, c.billing_period, c.x_Team, c.kind, c.BillingCurrency,
       CASE WHEN c.kind = 'idle' THEN p.idle_gpu_hours ELSE coalesce(h.gpu_hours, 0) END AS gpu_hours,
       CASE WHEN c.kind = 'usage' AND p.used_gpu_hours > 0 THEN round(100 * coalesce(h.gpu_hours, 0) / p.used_gpu_hours, 2) END
           AS used_share_pct,
       c.EffectiveCost, c.BilledCost,
       CASE WHEN c.kind = 'usage' AND h.gpu_hours > 0
            THEN CAST(round(c.EffectiveCost / h.gpu_hours, 6) AS DECIMAL(38, 6)) END AS cost_per_used_gpu_hour
FROM cost AS c
LEFT JOIN team_hours AS h
       ON c.kind = 'usage' AND h.pool = c.pool AND h.billing_period = c.billing_period AND h.x_Team = c.x_Team
LEFT JOIN gpu_pools AS p
       ON p.pool = c.pool AND p.billing_period = c.billing_period AND p.BillingCurrency = c.BillingCurrency
ORDER BY c.pool, c.billing_period, c.kind DESC, c.x_Team;
