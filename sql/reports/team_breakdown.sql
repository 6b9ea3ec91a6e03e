-- A team's cost by provider, service category and AI category, this month and the previous one.
-- Parameters: period, team, currency, previous period, period.
WITH rows AS (
    SELECT billing_period = ? AS is_current, provider, ServiceCategory, x_AiCategory, EffectiveCost
    FROM showback
    WHERE x_Team = ? AND BillingCurrency = ? AND billing_period IN (?, ?)
), pairs AS (
    SELECT is_current, EffectiveCost,
           unnest([{'dimension': 'provider', 'value': provider},
                   {'dimension': 'service_category', 'value': ServiceCategory},
                   {'dimension': 'ai_category', 'value': x_AiCategory}]) AS p
    FROM rows
)
SELECT p.dimension AS dimension, coalesce(p.value, '(none)') AS value,
       coalesce(sum(EffectiveCost) FILTER (WHERE is_current), 0) AS cost,
       coalesce(sum(EffectiveCost) FILTER (WHERE NOT is_current), 0) AS previous
FROM pairs
GROUP BY ALL
ORDER BY dimension, cost DESC, value;
