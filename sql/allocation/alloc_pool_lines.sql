-- alloc_pool_lines: one row per cost line a shared pool allocates: its pool, its usage window
-- (the hour, day or month of ChargePeriodStart) and the GPU-hours it paid for: instance-hours
-- times GPUs per instance type, on used usage rows only (a Savings Plan negation or an unused
-- commitment pays for no hours; fees and credits follow the window they fall in).
CREATE OR REPLACE TABLE alloc_pool_lines AS
SELECT o.x_LineId, o.owner_rank, l.provider, l.billing_period,
       CASE p.window_unit WHEN 'hour' THEN date_trunc('hour', l.ChargePeriodStart)
                          WHEN 'month' THEN date_trunc('month', l.ChargePeriodStart)
                          ELSE date_trunc('day', l.ChargePeriodStart) END AS window_start,
       CAST(CASE WHEN l.ChargeCategory = 'Usage' AND lower(l.ConsumedUnit) IN ('hours', 'hour', 'hrs')
                      AND coalesce(l.CommitmentDiscountStatus, 'Used') <> 'Unused'
                 THEN round(l.ConsumedQuantity * coalesce(g.gpu_count, 0), 6) ELSE 0 END
            AS DECIMAL(38, 6)) AS paid_gpu_hours
FROM alloc_line_owner AS o
JOIN alloc_owners AS p ON p.owner_rank = o.owner_rank AND p.owner_kind = 'pool'
JOIN cost_lines AS l ON l.x_LineId = o.x_LineId
LEFT JOIN alloc_gpu_instances AS g
       ON g.instance_type = CASE WHEN l.x_InstanceType LIKE 'ml.%' THEN substr(l.x_InstanceType, 4)
                                 ELSE l.x_InstanceType END;
