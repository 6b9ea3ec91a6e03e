-- gpu_pool_teams: one row per shared pool x billing month x recipient (each team that used it,
-- and the platform team's idle line when idle is its own line): its GPU-hours (used; idle for
-- the idle line), share of the pool's used hours, allocated EffectiveCost and BilledCost, cost per used GPU-hour.
CREATE OR REPLACE TABLE gpu_pool_teams AS
WITH team_hours AS (
    SELECT o.owner_id AS pool, p.billing_period, w.x_Team, w.kind, sum(w.team_gpu_hours) AS gpu_hours
    FROM alloc_pool_windows AS w
    JOIN (SELECT DISTINCT owner_rank, window_start, billing_period FROM alloc_pool_lines) AS p
      ON p.owner_rank = w.owner_rank AND p.window_start = w.window_start
    JOIN alloc_owners AS o ON o.owner_rank = w.owner_rank
    GROUP BY o.owner_id, p.billing_period, w.x_Team, w.kind
), cost AS (
    SELECT x_RuleId AS pool, billing_period, x_Team,
           CASE AllocatedMethodId WHEN 'pool-idle' THEN 'idle' ELSE 'usage' END AS kind, BillingCurrency,
           sum(EffectiveCost) AS EffectiveCost, sum(BilledCost) AS BilledCost
    FROM allocated_costs
    WHERE AllocatedMethodId LIKE 'pool-%'
    GROUP BY x_RuleId, billing_period, x_Team, AllocatedMethodId, BillingCurrency
)
SELECT c.pool, c.billing_period, c.x_Team, c.kind, c.BillingCurrency, h.gpu_hours,
       CASE WHEN c.kind = 'usage' AND sum(CASE WHEN c.kind = 'usage' THEN h.gpu_hours END) OVER pool_month > 0
            THEN round(100 * h.gpu_hours / sum(CASE WHEN c.kind = 'usage' THEN h.gpu_hours END) OVER pool_month, 2)
       END AS used_share_pct,
       c.EffectiveCost, c.BilledCost,
       CASE WHEN c.kind = 'usage' AND h.gpu_hours > 0
            THEN CAST(round(c.EffectiveCost / h.gpu_hours, 6) AS DECIMAL(38, 6)) END AS cost_per_used_gpu_hour
FROM cost AS c
LEFT JOIN team_hours AS h
       ON h.pool = c.pool AND h.billing_period = c.billing_period AND h.x_Team = c.x_Team AND h.kind = c.kind
WINDOW pool_month AS (PARTITION BY c.pool, c.billing_period, c.BillingCurrency)
ORDER BY c.pool, c.billing_period, c.kind DESC, c.x_Team;
