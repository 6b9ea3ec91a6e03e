-- A team's cost by service (provider and ServiceName), this month and the previous one: the
-- top services and the biggest change. Parameters: period, team, currency, previous period, period.
WITH rows AS (
    SELECT billing_period = ? AS is_current, ProviderName, ServiceName, EffectiveCost
    FROM allocated_costs
    WHERE x_Team = ? AND BillingCurrency = ? AND billing_period IN (?, ?)
)
SELECT coalesce(ProviderName, '') AS provider, coalesce(ServiceName, '(no service)') AS service,
       coalesce(sum(EffectiveCost) FILTER (WHERE is_current), 0) AS cost,
       coalesce(sum(EffectiveCost) FILTER (WHERE NOT is_current), 0) AS previous
FROM rows
GROUP BY ALL
ORDER BY cost DESC, provider, service;
