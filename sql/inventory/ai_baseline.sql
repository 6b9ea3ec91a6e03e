-- ai_baseline: one row per month and billing currency: total AI spend (EffectiveCost, and
-- BilledCost), its split by category, approved vs shadow spend and the shadow share, the number
-- of AI tools, of shadow tools and of tools without an owner.
CREATE OR REPLACE VIEW ai_baseline AS
SELECT billing_period, BillingCurrency,
       sum(EffectiveCost) AS ai_effective_cost,
       sum(BilledCost) AS ai_billed_cost,
       coalesce(sum(EffectiveCost) FILTER (WHERE x_AiCategory = 'gpu_compute'), 0) AS gpu_compute,
       coalesce(sum(EffectiveCost) FILTER (WHERE x_AiCategory = 'managed_ai'), 0) AS managed_ai,
       coalesce(sum(EffectiveCost) FILTER (WHERE x_AiCategory = 'model_api'), 0) AS model_api,
       coalesce(sum(EffectiveCost) FILTER (WHERE x_AiCategory = 'ai_saas'), 0) AS ai_saas,
       coalesce(sum(EffectiveCost) FILTER (WHERE status = 'approved'), 0) AS approved_cost,
       coalesce(sum(EffectiveCost) FILTER (WHERE status = 'shadow'), 0) AS shadow_cost,
       round(coalesce(sum(EffectiveCost) FILTER (WHERE status = 'shadow'), 0)
             / NULLIF(sum(EffectiveCost), 0), 4) AS shadow_share,
       count(DISTINCT (x_AiVendor, tool)) AS tools,
       count(DISTINCT (x_AiVendor, tool)) FILTER (WHERE status = 'shadow') AS shadow_tools,
       count(DISTINCT (x_AiVendor, tool)) FILTER (WHERE owner IS NULL) AS tools_without_owner
FROM ai_lines
GROUP BY billing_period, BillingCurrency;

-- ai_baseline_breakdown: one row per month, billing currency, dimension (category,
-- business_unit, cost_center, team, project, source, status) and value: its AI spend and its
-- share of the month's AI spend in that currency.
CREATE OR REPLACE VIEW ai_baseline_breakdown AS
WITH pairs AS (
    SELECT billing_period, BillingCurrency, EffectiveCost, BilledCost,
           unnest([{'dimension': 'category', 'value': x_AiCategory},
                   {'dimension': 'business_unit', 'value': x_BusinessUnit},
                   {'dimension': 'cost_center', 'value': x_CostCenter},
                   {'dimension': 'team', 'value': x_Team},
                   {'dimension': 'project', 'value': project},
                   {'dimension': 'source', 'value': source},
                   {'dimension': 'status', 'value': status}]) AS p
    FROM ai_lines
), sums AS (
    SELECT billing_period, BillingCurrency, p.dimension AS dimension, coalesce(p.value, 'unassigned') AS value,
           sum(EffectiveCost) AS ai_effective_cost, sum(BilledCost) AS ai_billed_cost
    FROM pairs
    GROUP BY ALL
)
SELECT *, round(ai_effective_cost / NULLIF(sum(ai_effective_cost) OVER
                (PARTITION BY billing_period, BillingCurrency, dimension), 0), 4) AS share
FROM sums;

-- ai_tools_without_owner: one row per month, tool, team and source with AI spend that no
-- approved_tools entry covers, so nobody answers for it (the shadow rows of ai_inventory).
CREATE OR REPLACE VIEW ai_tools_without_owner AS
SELECT billing_period, BillingCurrency, tool, vendor, product, category, team, source,
       EffectiveCost, BilledCost, users, first_seen, last_seen
FROM ai_inventory
WHERE owner IS NULL;
