-- The month's unallocated total per currency. Parameters: period.
SELECT BillingCurrency AS currency, sum(EffectiveCost) AS cost, sum(lines) AS lines
FROM unallocated
WHERE billing_period = ?
GROUP BY ALL
ORDER BY currency;
