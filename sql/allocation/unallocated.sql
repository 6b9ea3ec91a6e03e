-- unallocated: one row per provider x billing month x account x service x currency of the cost
-- no pool or rule claimed: how many lines and how much, so that it is seen and fixed.
CREATE OR REPLACE TABLE unallocated AS
SELECT provider, billing_period, BillingCurrency, SubAccountId, ServiceName, count(*) AS lines,
       sum(BilledCost) AS BilledCost, sum(EffectiveCost) AS EffectiveCost
FROM allocated_costs
WHERE x_Team = 'unallocated'
GROUP BY provider, billing_period, BillingCurrency, SubAccountId, ServiceName
ORDER BY billing_period, provider, EffectiveCost DESC;
