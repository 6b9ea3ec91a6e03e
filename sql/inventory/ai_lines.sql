-- ai_lines: one row per allocated AI cost line (allocated_costs joined to its cost line, AI
-- lines only): the tool, the team and where it sits (cost center, business unit, project), the
-- source (cloud, invoice, expense) and whether an approved_tools entry covers it.
-- An entry covers a line when each name it gives matches (case and punctuation ignored):
-- vendor = x_AiVendor, product = the tool (x_AiProduct, else the vendor), team = x_Team. The
-- most specific entry wins (team, then product, then the first listed). No entry: shadow.
CREATE OR REPLACE TABLE ai_lines AS
WITH lines AS (
    SELECT a.billing_period, a.BillingCurrency, a.x_Team, a.x_CostCenter, a.x_BusinessUnit,
           a.BilledCost, a.EffectiveCost, c.x_LineId,
           c.x_AiCategory, c.x_AiVendor, c.x_AiProduct, coalesce(c.x_AiProduct, c.x_AiVendor) AS tool,
           CASE WHEN c.x_Source IN ('aws-cur', 'gcp-billing', 'azure-cost') THEN 'cloud'
                WHEN c.x_Source = 'expenses' THEN 'expense'
                ELSE 'invoice' END AS source,
           c.x_Source, c.x_Employee, c.ChargePeriodStart, c.ChargePeriodEnd,
           coalesce(json_extract_string(c.Tags, '$.project'), json_extract_string(c.Tags, '$.Project'),
                    'unassigned') AS project
    FROM allocated_costs AS a
    JOIN cost_lines AS c ON c.x_LineId = a.x_LineId
    WHERE c.x_AiCategory <> 'none'
), tools AS (
    SELECT DISTINCT x_AiVendor, tool, x_Team FROM lines
), covered AS (
    SELECT k.x_AiVendor, k.tool, k.x_Team, t.entry, t.owner, t.contract, t.purchase_order,
           t.budget, t.currency AS budget_currency
    FROM tools AS k
    JOIN approved_tools AS t
      ON (t.vendor IS NULL OR ai_text_key(t.vendor) = ai_text_key(k.x_AiVendor))
     AND (t.product IS NULL OR ai_text_key(t.product) = ai_text_key(k.tool))
     AND (t.team IS NULL OR lower(trim(t.team)) = lower(trim(k.x_Team)))
    QUALIFY row_number() OVER (PARTITION BY k.x_AiVendor, k.tool, k.x_Team
                               ORDER BY t.team IS NULL, t.product IS NULL, t.entry) = 1
)
SELECT l.*,
       CASE WHEN c.entry IS NULL THEN 'shadow' ELSE 'approved' END AS status,
       c.entry AS approved_entry, c.owner, c.contract, c.purchase_order, c.budget, c.budget_currency
FROM lines AS l
LEFT JOIN covered AS c ON c.x_AiVendor = l.x_AiVendor AND c.tool = l.tool AND c.x_Team IS NOT DISTINCT FROM l.x_Team;
