-- A team's share of each shared GPU pool this month: its used GPU-hours (or, for the platform
-- team's idle line, the idle hours) and cost, beside the pool's paid, used and idle GPU-hours,
-- its cost per used GPU-hour and how the idle hours were carried. No other team is named.
-- Parameters: team, currency, period.
SELECT t.pool, t.kind, t.gpu_hours, t.used_share_pct, t.EffectiveCost AS cost, t.cost_per_used_gpu_hour,
       p.paid_gpu_hours, p.used_gpu_hours, p.idle_gpu_hours, p.utilization_pct,
       p.EffectiveCost AS pool_cost, p.cost_per_used_gpu_hour AS pool_cost_per_used_gpu_hour,
       EXISTS (SELECT 1 FROM gpu_pool_teams AS i
               WHERE i.pool = t.pool AND i.billing_period = t.billing_period AND i.kind = 'idle') AS idle_own_line
FROM gpu_pool_teams AS t
JOIN gpu_pools AS p ON p.pool = t.pool AND p.billing_period = t.billing_period AND p.BillingCurrency = t.BillingCurrency
WHERE t.x_Team = ? AND t.BillingCurrency = ? AND t.billing_period = ?
ORDER BY t.pool, t.kind DESC;
