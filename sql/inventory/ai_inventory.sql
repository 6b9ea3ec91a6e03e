-- ai_inventory: one row per AI tool (vendor, product), team, source (cloud, invoice, expense)
-- and month, in each billing currency: category, approved or shadow with the approving entry's
-- owner, contract and monthly budget, cost (EffectiveCost and BilledCost, allocated to the
-- team), cost lines, distinct users (expenses: distinct employees), and when the tool was first
-- and last seen for that team and source over all months.
CREATE OR REPLACE TABLE ai_inventory AS
WITH monthly AS (
    SELECT billing_period, tool, x_AiVendor AS vendor, x_AiProduct AS product, x_Team AS team,
           any_value(x_CostCenter) AS cost_center, any_value(x_BusinessUnit) AS business_unit,
           x_AiCategory AS category, source, status, owner, contract, purchase_order, budget,
           budget_currency, BillingCurrency,
           sum(EffectiveCost) AS EffectiveCost, sum(BilledCost) AS BilledCost,
           count(DISTINCT x_LineId) AS cost_lines,
           CASE WHEN source = 'expense' THEN count(DISTINCT x_Employee) END AS users,
           min(ChargePeriodStart) AS month_first_seen, max(ChargePeriodEnd) AS month_last_seen
    FROM ai_lines
    GROUP BY billing_period, tool, x_AiVendor, x_AiProduct, x_Team, x_AiCategory, source, status, owner,
             contract, purchase_order, budget, budget_currency, BillingCurrency
)
SELECT * EXCLUDE (month_first_seen, month_last_seen),
       min(month_first_seen) OVER w AS first_seen,
       max(month_last_seen) OVER w AS last_seen
FROM monthly
WINDOW w AS (PARTITION BY vendor, product, team, source)
ORDER BY billing_period, BillingCurrency, tool, team, source;
