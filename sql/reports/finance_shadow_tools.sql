-- The month's shadow AI tools (no approved entry covers them), largest first. Parameters: period.
SELECT tool, category, source, BillingCurrency AS currency, sum(EffectiveCost) AS cost,
       count(DISTINCT team) AS teams, max(users) AS users
FROM ai_inventory
WHERE billing_period = ? AND status = 'shadow'
GROUP BY tool, category, source, BillingCurrency
ORDER BY cost DESC, tool, source;
