-- What no rule claimed this month, the largest first. Parameters: period, limit.
SELECT provider, coalesce(SubAccountId, '') AS account, coalesce(ServiceName, '') AS service,
       BillingCurrency AS currency, sum(lines) AS lines, sum(EffectiveCost) AS cost
FROM unallocated
WHERE billing_period = ?
GROUP BY ALL
ORDER BY cost DESC, provider, account, service
LIMIT ?;
