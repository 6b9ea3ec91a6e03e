-- Chargeback this month: BilledCost (what the invoices charge) per cost center and currency.
-- Parameters: period.
SELECT x_CostCenter AS cost_center, x_BusinessUnit AS business_unit, BillingCurrency AS currency,
       sum(BilledCost) AS billed, sum(EffectiveCost) AS amortized
FROM chargeback
WHERE billing_period = ?
GROUP BY x_CostCenter, x_BusinessUnit, BillingCurrency
ORDER BY cost_center = 'unallocated', billed DESC, cost_center, currency;
