-- allocated_costs: one row per (cost line, recipient). Column names follow FOCUS 1.3's
-- allocation columns. Each recipient's amount is floor(cost * weight / total_weight) at the
-- column's scale (1e-12), and the leftover units go one each to the largest remainders
-- (ties by team): a line's allocations sum exactly to the line, for BilledCost and EffectiveCost.
-- x_Share is weight / total_weight rounded to 12 places (for reading; amounts use the weights).
CREATE OR REPLACE TABLE allocated_costs AS
WITH multi AS (
    -- lines with more than one recipient, narrow: costs as integer units of 1e-12
    SELECT r.x_LineId, r.x_Team, r.AllocatedMethodId, r.total_weight,
           CAST(abs(l.BilledCost) * 1000000000000 AS HUGEINT) AS b_units,
           CAST(abs(l.BilledCost) * 1000000000000 AS HUGEINT) * r.weight AS b_num,
           CAST(abs(l.EffectiveCost) * 1000000000000 AS HUGEINT) AS e_units,
           CAST(abs(l.EffectiveCost) * 1000000000000 AS HUGEINT) * r.weight AS e_num,
           sign(l.BilledCost) AS b_sign, sign(l.EffectiveCost) AS e_sign
    FROM alloc_recipients AS r
    JOIN cost_lines AS l ON l.x_LineId = r.x_LineId
    WHERE r.weight <> r.total_weight
), floors AS (
    SELECT x_LineId, x_Team, AllocatedMethodId, b_units, e_units, b_sign, e_sign,
           b_num // total_weight AS b_floor, b_num % total_weight AS b_rem,
           e_num // total_weight AS e_floor, e_num % total_weight AS e_rem
    FROM multi
), ranked AS (
    SELECT *,
           b_units - sum(b_floor) OVER (PARTITION BY x_LineId) AS b_left,
           row_number() OVER (PARTITION BY x_LineId ORDER BY b_rem DESC, x_Team, AllocatedMethodId) AS b_rank,
           e_units - sum(e_floor) OVER (PARTITION BY x_LineId) AS e_left,
           row_number() OVER (PARTITION BY x_LineId ORDER BY e_rem DESC, x_Team, AllocatedMethodId) AS e_rank
    FROM floors
), rule_details AS (
    SELECT owner_id, json_object('rule', owner_id) AS details FROM alloc_owners
), shares AS (
    SELECT x_LineId, x_Team, AllocatedMethodId,
           CAST(b_sign * (b_floor + CASE WHEN b_rank <= b_left THEN 1 ELSE 0 END) AS DECIMAL(38, 0))
               * 0.000000000001 AS BilledCost,
           CAST(e_sign * (e_floor + CASE WHEN e_rank <= e_left THEN 1 ELSE 0 END) AS DECIMAL(38, 0))
               * 0.000000000001 AS EffectiveCost
    FROM ranked
)
SELECT r.x_LineId, l.provider, l.billing_period, l.BillingCurrency, l.BillingAccountId, l.SubAccountId, l.InvoiceId,
       r.x_Team,
       coalesce(t.cost_center, 'unallocated') AS x_CostCenter,
       coalesce(t.business_unit, 'unallocated') AS x_BusinessUnit,
       CAST(CAST((r.weight * 2000000000000 + r.total_weight) // (2 * r.total_weight) AS DECIMAL(38, 0))
            * 0.000000000001 AS DECIMAL(38, 12)) AS x_Share,
       r.AllocatedMethodId,
       -- one recipient: the rule's constant details (built once per rule, not per row)
       CASE WHEN r.weight = r.total_weight AND r.x_PoolWindow IS NULL THEN d.details
            WHEN r.x_PoolWindow IS NULL
            THEN json_object('rule', r.x_RuleId, 'weight', CAST(r.weight AS VARCHAR),
                             'total_weight', CAST(r.total_weight AS VARCHAR))
            ELSE json_object('pool', r.x_RuleId, 'weight', CAST(r.weight AS VARCHAR),
                             'total_weight', CAST(r.total_weight AS VARCHAR), 'window', r.x_PoolWindow,
                             'gpu_hours', r.x_TeamGpuHours, 'window_paid_gpu_hours', r.x_WindowPaidGpuHours,
                             'window_used_gpu_hours', r.x_WindowUsedGpuHours) END AS AllocatedMethodDetails,
       CASE WHEN r.x_PoolWindow IS NOT NULL THEN r.x_RuleId || '/' || r.x_Team ELSE l.ResourceId END AS AllocatedResourceId,
       CASE WHEN r.AllocatedMethodId = 'pool-idle' THEN r.x_RuleId || ' idle capacity'
            WHEN r.x_PoolWindow IS NOT NULL THEN r.x_RuleId || ' used by ' || r.x_Team
            ELSE l.ResourceName END AS AllocatedResourceName,
       l.Tags AS AllocatedTags,
       r.x_RuleId,
       CAST(coalesce(s.BilledCost, l.BilledCost) AS DECIMAL(38, 12)) AS BilledCost,
       CAST(coalesce(s.EffectiveCost, l.EffectiveCost) AS DECIMAL(38, 12)) AS EffectiveCost,
       l.x_AiCategory, l.x_AiVendor, l.ProviderName, l.ServiceCategory, l.ServiceName
FROM alloc_recipients AS r
JOIN cost_lines AS l ON l.x_LineId = r.x_LineId
LEFT JOIN shares AS s
       ON r.weight <> r.total_weight AND s.x_LineId = r.x_LineId AND s.x_Team = r.x_Team
      AND s.AllocatedMethodId = r.AllocatedMethodId
LEFT JOIN alloc_teams AS t ON t.team = r.x_Team
LEFT JOIN rule_details AS d ON d.owner_id = r.x_RuleId;
