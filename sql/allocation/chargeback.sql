-- chargeback: one row per cost center x billing month x invoice (provider, billing account,
-- InvoiceId, currency): the BilledCost each cost center is charged. Summed over cost centers
-- (including 'unallocated'), an invoice's rows give the invoice's total; see
-- chargeback_reconciliation.
CREATE OR REPLACE TABLE chargeback AS
SELECT x_CostCenter, x_BusinessUnit, billing_period, provider, BillingAccountId, InvoiceId, BillingCurrency,
       sum(BilledCost) AS BilledCost, sum(EffectiveCost) AS EffectiveCost
FROM allocated_costs
GROUP BY x_CostCenter, x_BusinessUnit, billing_period, provider, BillingAccountId, InvoiceId, BillingCurrency
ORDER BY billing_period, provider, BillingAccountId, InvoiceId, x_CostCenter, BillingCurrency;
