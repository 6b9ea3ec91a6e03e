-- alloc_recipients: one row per (cost line, recipient) with an integer weight out of the line's
-- total_weight: a rule naming a team or reading the team tag (one recipient), a percentage
-- split, a pool's window shares, or 'unallocated' when nothing matched (never dropped).
CREATE OR REPLACE TABLE alloc_recipients AS
SELECT o.x_LineId,
       CASE r.target WHEN 'team' THEN r.team WHEN 'tag' THEN t.tag_value
                     ELSE 'unallocated' END AS x_Team,
       CASE r.target WHEN 'team' THEN 'rule' WHEN 'tag' THEN 'tag' ELSE 'unallocated' END AS AllocatedMethodId,
       r.owner_id AS x_RuleId,
       CAST(1 AS HUGEINT) AS weight, CAST(1 AS HUGEINT) AS total_weight,
       CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS x_PoolWindow, CAST(NULL AS DECIMAL(38, 6)) AS x_TeamGpuHours,
       CAST(NULL AS DECIMAL(38, 6)) AS x_WindowPaidGpuHours, CAST(NULL AS DECIMAL(38, 6)) AS x_WindowUsedGpuHours
FROM alloc_line_owner AS o
LEFT JOIN alloc_owners AS r ON r.owner_rank = o.owner_rank
LEFT JOIN alloc_line_tags AS t ON t.x_LineId = o.x_LineId AND t.tag_key = r.tag_key AND r.target = 'tag'
WHERE r.target IS NULL OR r.target IN ('team', 'tag')
UNION ALL
SELECT o.x_LineId, s.team, 'split', r.owner_id,
       CAST(round(s.pct * 10000) AS HUGEINT), CAST(1000000 AS HUGEINT),
       NULL, NULL, NULL, NULL
FROM alloc_line_owner AS o
JOIN alloc_owners AS r ON r.owner_rank = o.owner_rank AND r.target = 'split'
JOIN alloc_shares AS s ON s.owner_rank = o.owner_rank
UNION ALL
SELECT p.x_LineId, w.x_Team,
       CASE w.kind WHEN 'idle' THEN 'pool-idle' ELSE 'pool-' || r.method END, r.owner_id,
       w.weight, w.total_weight, w.window_start, w.team_gpu_hours, w.paid_gpu_hours, w.used_gpu_hours
FROM alloc_pool_lines AS p
JOIN alloc_pool_windows AS w
  ON w.owner_rank = p.owner_rank AND w.window_unit = p.window_unit AND w.window_start = p.window_start
JOIN alloc_owners AS r ON r.owner_rank = p.owner_rank;
