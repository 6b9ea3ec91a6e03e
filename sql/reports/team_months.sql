-- A team's amortized cost (EffectiveCost) per billing month and currency, up to the report's
-- month: the trend chart, the previous month and the 3-month average.
-- Parameters: team, period (YYYY-MM).
SELECT billing_period, BillingCurrency, sum(EffectiveCost) AS cost
FROM showback
WHERE x_Team = ? AND billing_period <= ?
GROUP BY billing_period, BillingCurrency
ORDER BY billing_period, BillingCurrency;
