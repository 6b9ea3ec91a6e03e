-- allocated_costs: one row per (cost line, recipient). Column names follow FOCUS 1.3's
-- allocation columns. Each recipient's amount is floor(cost * weight / total_weight) at the
-- column's scale (1e-12), and the leftover units go one each to the largest remainders
-- (ties by team): a line's allocations sum exactly to the line, for BilledCost and EffectiveCost.
-- x_Share is weight / total_weight rounded to 12 places (for reading; amounts use the weights).
CREATE OR REPLACE TABLE allocated_costs AS
WITH joined AS (
    SELECT r.*, l.provider, l.billing_period, l.BillingCurrency, l.BillingAccountId, l.SubAccountId,
           l.InvoiceId, l.ProviderName, l.ServiceCategory, l.ServiceName, l.x_AiCategory, l.x_AiVendor,
           l.ResourceId, l.ResourceName, l.BilledCost AS line_billed, l.EffectiveCost AS line_effective
    FROM alloc_recipients AS r
    JOIN cost_lines AS l ON l.x_LineId = r.x_LineId
), split_units AS (
    -- lines with more than one recipient: integer units of 1e-12
    SELECT *,
           CAST(abs(line_billed) * 1000000000000 AS HUGEINT) * weight // total_weight AS b_floor,
           CAST(abs(line_billed) * 1000000000000 AS HUGEINT) * weight % total_weight AS b_rem,
           CAST(abs(line_effective) * 1000000000000 AS HUGEINT) * weight // total_weight AS e_floor,
           CAST(abs(line_effective) * 1000000000000 AS HUGEINT) * weight % total_weight AS e_rem
    FROM joined
    WHERE weight <> total_weight
), ranked AS (
    SELECT *,
           CAST(abs(line_billed) * 1000000000000 AS HUGEINT) - sum(b_floor) OVER line AS b_left,
           row_number() OVER (PARTITION BY x_LineId ORDER BY b_rem DESC, x_Team, AllocatedMethodId) AS b_rank,
           CAST(abs(line_effective) * 1000000000000 AS HUGEINT) - sum(e_floor) OVER line AS e_left,
           row_number() OVER (PARTITION BY x_LineId ORDER BY e_rem DESC, x_Team, AllocatedMethodId) AS e_rank
    FROM split_units
    WINDOW line AS (PARTITION BY x_LineId)
), amounts AS (
    SELECT * EXCLUDE (b_floor, b_rem, e_floor, e_rem, b_left, b_rank, e_left, e_rank),
           CAST(sign(line_billed) * (b_floor + CASE WHEN b_rank <= b_left THEN 1 ELSE 0 END) AS DECIMAL(38, 0))
               * 0.000000000001 AS BilledCost,
           CAST(sign(line_effective) * (e_floor + CASE WHEN e_rank <= e_left THEN 1 ELSE 0 END) AS DECIMAL(38, 0))
               * 0.000000000001 AS EffectiveCost
    FROM ranked
    UNION ALL
    SELECT *, line_billed AS BilledCost, line_effective AS EffectiveCost
    FROM joined
    WHERE weight = total_weight
)
SELECT a.x_LineId, a.provider, a.billing_period, a.BillingCurrency, a.BillingAccountId, a.SubAccountId,
       a.InvoiceId,
       a.x_Team,
       coalesce(t.cost_center, 'unallocated') AS x_CostCenter,
       coalesce(t.business_unit, 'unallocated') AS x_BusinessUnit,
       CAST(CAST((a.weight * 2000000000000 + a.total_weight) // (2 * a.total_weight) AS DECIMAL(38, 0))
            * 0.000000000001 AS DECIMAL(38, 12)) AS x_Share,
       a.AllocatedMethodId,
       json_object('rule', a.x_RuleId, 'weight', CAST(a.weight AS VARCHAR), 'total_weight', CAST(a.total_weight AS VARCHAR),
                   'window', a.x_PoolWindow, 'gpu_hours', a.x_TeamGpuHours,
                   'window_paid_gpu_hours', a.x_WindowPaidGpuHours,
                   'window_used_gpu_hours', a.x_WindowUsedGpuHours) AS AllocatedMethodDetails,
       CASE WHEN a.x_PoolWindow IS NOT NULL THEN a.x_RuleId || '/' || a.x_Team ELSE a.ResourceId END AS AllocatedResourceId,
       CASE WHEN a.AllocatedMethodId = 'pool-idle' THEN a.x_RuleId || ' idle capacity'
            WHEN a.x_PoolWindow IS NOT NULL THEN a.x_RuleId || ' used by ' || a.x_Team
            ELSE a.ResourceName END AS AllocatedResourceName,
       CAST(to_json(lt.canonical_tags) AS JSON) AS AllocatedTags,
       a.x_RuleId,
       CAST(a.BilledCost AS DECIMAL(38, 12)) AS BilledCost,
       CAST(a.EffectiveCost AS DECIMAL(38, 12)) AS EffectiveCost,
       a.x_AiCategory, a.x_AiVendor, a.ProviderName, a.ServiceCategory, a.ServiceName
FROM amounts AS a
LEFT JOIN alloc_teams AS t ON t.team = a.x_Team
LEFT JOIN alloc_line_tags AS lt ON lt.x_LineId = a.x_LineId;
