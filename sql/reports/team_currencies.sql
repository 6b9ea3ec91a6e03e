-- A team's cost per currency this month (a report is in one currency; the others are named).
-- Parameters: team, period.
SELECT BillingCurrency AS currency, sum(EffectiveCost) AS cost
FROM showback
WHERE x_Team = ? AND billing_period = ?
GROUP BY ALL
ORDER BY cost DESC, currency;
