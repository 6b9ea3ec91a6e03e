-- The AI tools a team paid for this month: category, source, approved or shadow, cost, users.
-- Parameters: team, currency, period.
SELECT tool, category, source, status, sum(EffectiveCost) AS cost, max(users) AS users
FROM ai_inventory
WHERE team = ? AND BillingCurrency = ? AND billing_period = ?
GROUP BY tool, category, source, status
ORDER BY cost DESC, tool, source;
