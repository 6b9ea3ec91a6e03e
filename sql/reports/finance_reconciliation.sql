-- The month's invoices against what was charged back, per currency (difference is always 0).
-- Parameters: period.
SELECT BillingCurrency AS currency, count(*) AS invoices, sum(invoice_billed) AS invoiced,
       sum(charged_back) AS charged_back, sum(unallocated) AS unallocated, sum(difference) AS difference
FROM chargeback_reconciliation
WHERE billing_period = ?
GROUP BY ALL
ORDER BY currency;
