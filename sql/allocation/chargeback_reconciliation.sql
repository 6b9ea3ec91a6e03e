-- chargeback_reconciliation: one row per invoice (provider, billing month, billing account,
-- InvoiceId, currency): the invoice's BilledCost from the cost lines, the sum charged back to
-- cost centers, the part no cost center owns ('unallocated'), and the difference (always 0).
CREATE OR REPLACE TABLE chargeback_reconciliation AS
WITH invoices AS (
    SELECT provider, billing_period, BillingAccountId, InvoiceId, BillingCurrency, sum(BilledCost) AS invoice_billed
    FROM cost_lines
    GROUP BY provider, billing_period, BillingAccountId, InvoiceId, BillingCurrency
), charged AS (
    SELECT provider, billing_period, BillingAccountId, InvoiceId, BillingCurrency,
           sum(BilledCost) AS charged_back,
           sum(CASE WHEN x_CostCenter = 'unallocated' THEN BilledCost ELSE 0 END) AS unallocated
    FROM chargeback
    GROUP BY provider, billing_period, BillingAccountId, InvoiceId, BillingCurrency
)
SELECT i.provider, i.billing_period, i.BillingAccountId, i.InvoiceId, i.BillingCurrency, i.invoice_billed,
       coalesce(c.charged_back, 0) AS charged_back, coalesce(c.unallocated, 0) AS unallocated,
       i.invoice_billed - coalesce(c.charged_back, 0) AS difference
FROM invoices AS i
LEFT JOIN charged AS c
       ON c.provider = i.provider AND c.billing_period = i.billing_period
      AND c.BillingAccountId IS NOT DISTINCT FROM i.BillingAccountId
      AND c.InvoiceId IS NOT DISTINCT FROM i.InvoiceId AND c.BillingCurrency = i.BillingCurrency
ORDER BY i.provider, i.billing_period, i.BillingAccountId, i.InvoiceId, i.BillingCurrency;
