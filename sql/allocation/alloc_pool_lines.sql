-- alloc_pool_lines: one row per cost line a shared pool allocates: its pool, the usage window it
-- is shared in and the GPU-hours it paid for (instance-hours x GPUs per instance type, on used
-- usage rows only: a Savings Plan negation or an unused commitment pays for no hours).
-- The window is the pool's (hour, day or month of ChargePeriodStart), or coarser when the line's
-- charge period is longer (a daily line in an hourly pool is shared by the day's usage, a
-- monthly fee or tax by the month's).
CREATE OR REPLACE TABLE alloc_pool_lines AS
WITH lines AS (
    SELECT o.x_LineId, o.owner_rank, l.provider, l.billing_period, l.ChargePeriodStart,
           -- 1 hour, 2 day, 3 month: the coarser of the pool's window and the line's span
           greatest(CASE p.window_unit WHEN 'hour' THEN 1 WHEN 'day' THEN 2 ELSE 3 END,
                    CASE WHEN coalesce(l.ChargePeriodEnd, l.ChargePeriodStart) <= date_trunc('hour', l.ChargePeriodStart) + INTERVAL 1 HOUR THEN 1
                         WHEN coalesce(l.ChargePeriodEnd, l.ChargePeriodStart) <= date_trunc('day', l.ChargePeriodStart) + INTERVAL 1 DAY THEN 2
                         ELSE 3 END) AS unit_rank,
           CAST(CASE WHEN l.ChargeCategory = 'Usage' AND lower(l.ConsumedUnit) IN ('hours', 'hour', 'hrs')
                          AND coalesce(l.CommitmentDiscountStatus, 'Used') <> 'Unused'
                     THEN round(l.ConsumedQuantity * coalesce(g.gpu_count, 0), 6) ELSE 0 END
                AS DECIMAL(38, 6)) AS paid_gpu_hours
    FROM alloc_line_owner AS o
    JOIN alloc_owners AS p ON p.owner_rank = o.owner_rank AND p.owner_kind = 'pool'
    JOIN cost_lines AS l ON l.x_LineId = o.x_LineId
    LEFT JOIN alloc_gpu_instances AS g
           ON g.instance_type = CASE WHEN l.x_InstanceType LIKE 'ml.%' THEN substr(l.x_InstanceType, 4)
                                     ELSE l.x_InstanceType END
)
SELECT x_LineId, owner_rank, provider, billing_period, ChargePeriodStart,
       CASE unit_rank WHEN 1 THEN 'hour' WHEN 2 THEN 'day' ELSE 'month' END AS window_unit,
       CASE unit_rank WHEN 1 THEN date_trunc('hour', ChargePeriodStart)
                      WHEN 2 THEN date_trunc('day', ChargePeriodStart)
                      ELSE date_trunc('month', ChargePeriodStart) END AS window_start,
       paid_gpu_hours
FROM lines;
