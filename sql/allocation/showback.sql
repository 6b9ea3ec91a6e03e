-- showback: one row per team x billing month x provider x service category x AI category
-- (and currency): the amortized cost (EffectiveCost) each team consumed, BilledCost beside it.
CREATE OR REPLACE TABLE showback AS
SELECT x_Team, x_CostCenter, x_BusinessUnit, billing_period, provider, ServiceCategory, x_AiCategory,
       BillingCurrency, sum(EffectiveCost) AS EffectiveCost, sum(BilledCost) AS BilledCost, count(*) AS allocations
FROM allocated_costs
GROUP BY x_Team, x_CostCenter, x_BusinessUnit, billing_period, provider, ServiceCategory, x_AiCategory, BillingCurrency
ORDER BY billing_period, x_Team, provider, ServiceCategory, x_AiCategory, BillingCurrency;
