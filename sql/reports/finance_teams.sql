-- Every team's amortized cost this month and the previous one, per currency, with its cost
-- center and business unit. Parameters: period, previous period, period, previous period.
SELECT x_Team AS team, any_value(x_CostCenter) AS cost_center, any_value(x_BusinessUnit) AS business_unit,
       BillingCurrency AS currency,
       coalesce(sum(EffectiveCost) FILTER (WHERE billing_period = ?), 0) AS cost,
       coalesce(sum(EffectiveCost) FILTER (WHERE billing_period = ?), 0) AS previous
FROM showback
WHERE billing_period IN (?, ?)
GROUP BY x_Team, BillingCurrency
ORDER BY x_Team = 'unallocated', cost DESC, team, currency;
