-- alloc_pool_windows: one row per (pool, window, recipient): who shares the pool's cost in that
-- window, its GPU-hours (used; idle for the idle line) and its integer weight (GPU-hours in millionths; percentages in ten-thousandths).
-- paid = GPU-hours the window's cost lines bought; used = the usage file's GPU-hours (max of
-- requested and used); idle = paid - used (never negative: over-reported usage leaves no idle).
--   proportional  team weight = its used GPU-hours
--   even          every team that used the pool weighs the same
--   fixed         the configured percentages
-- idle own_line: the idle part is one more recipient, the pool's platform team; spread: it is
-- not, so the users carry it in proportion. A window nobody used goes to the platform team.
CREATE OR REPLACE TABLE alloc_pool_windows AS
WITH units AS (
    SELECT 'hour' AS unit UNION ALL SELECT 'day' UNION ALL SELECT 'month'
), windows_used AS (
    SELECT DISTINCT owner_rank, window_unit, window_start FROM alloc_pool_lines
), paid_by_unit AS (
    -- a window's paid GPU-hours are those of every pool line starting in it, whatever its own window
    SELECT l.owner_rank, u.unit,
           CASE u.unit WHEN 'hour' THEN date_trunc('hour', l.ChargePeriodStart)
                       WHEN 'day' THEN date_trunc('day', l.ChargePeriodStart)
                       ELSE date_trunc('month', l.ChargePeriodStart) END AS window_start,
           sum(l.paid_gpu_hours) AS paid_gpu_hours
    FROM alloc_pool_lines AS l
    CROSS JOIN units AS u
    GROUP BY 1, 2, 3
), paid AS (
    SELECT w.owner_rank, w.window_unit, w.window_start, p.paid_gpu_hours
    FROM windows_used AS w
    JOIN paid_by_unit AS p
      ON p.owner_rank = w.owner_rank AND p.unit = w.window_unit AND p.window_start = w.window_start
), usage_by_window AS (
    SELECT a.owner_rank, u.unit AS window_unit,
           CASE u.unit WHEN 'hour' THEN date_trunc('hour', a.usage_start)
                       WHEN 'day' THEN date_trunc('day', a.usage_start)
                       ELSE date_trunc('month', a.usage_start) END AS window_start,
           a.team, sum(a.gpu_hours) AS team_gpu_hours
    FROM alloc_pool_usage AS a
    CROSS JOIN units AS u
    GROUP BY 1, 2, 3, 4
    HAVING sum(a.gpu_hours) > 0
), windows AS (
    SELECT p.owner_rank, p.window_unit, p.window_start, p.paid_gpu_hours,
           coalesce(sum(u.team_gpu_hours), 0) AS used_gpu_hours, count(u.team) AS users
    FROM paid AS p
    LEFT JOIN usage_by_window AS u
           ON u.owner_rank = p.owner_rank AND u.window_unit = p.window_unit AND u.window_start = p.window_start
    GROUP BY p.owner_rank, p.window_unit, p.window_start, p.paid_gpu_hours
), w AS (
    SELECT x.*, o.method, o.idle_mode, o.platform_team, o.has_usage,
           greatest(x.paid_gpu_hours - x.used_gpu_hours, 0) AS idle_gpu_hours,
           CAST(round(x.used_gpu_hours * 1000000) AS HUGEINT) AS used_units,
           CAST(round(greatest(x.paid_gpu_hours - x.used_gpu_hours, 0) * 1000000) AS HUGEINT) AS idle_units
    FROM windows AS x
    JOIN alloc_owners AS o ON o.owner_rank = x.owner_rank
), recipients AS (
    SELECT w.owner_rank, w.window_unit, w.window_start, u.team AS x_Team, 'usage' AS kind, u.team_gpu_hours,
           CASE WHEN w.method = 'proportional' THEN CAST(round(u.team_gpu_hours * 1000000) AS HUGEINT)
                WHEN w.idle_mode = 'own_line' THEN w.used_units  -- even, beside an idle line
                ELSE CAST(1 AS HUGEINT) END AS weight
    FROM w
    JOIN usage_by_window AS u
      ON u.owner_rank = w.owner_rank AND u.window_unit = w.window_unit AND u.window_start = w.window_start
    WHERE w.method IN ('proportional', 'even')
    UNION ALL
    SELECT w.owner_rank, w.window_unit, w.window_start, s.team, 'usage', coalesce(u.team_gpu_hours, 0),
           CAST(round(s.pct * 10000) AS HUGEINT)
             * CASE WHEN w.has_usage AND w.idle_mode = 'own_line' THEN w.used_units ELSE CAST(1 AS HUGEINT) END
    FROM w
    JOIN alloc_shares AS s ON s.owner_rank = w.owner_rank
    LEFT JOIN usage_by_window AS u
           ON u.owner_rank = w.owner_rank AND u.window_unit = w.window_unit AND u.window_start = w.window_start
          AND u.team = s.team
    WHERE w.method = 'fixed'
    UNION ALL
    SELECT owner_rank, window_unit, window_start, platform_team, 'idle', idle_gpu_hours,
           idle_units * CASE method WHEN 'even' THEN CAST(users AS HUGEINT)
                                    WHEN 'fixed' THEN CAST(1000000 AS HUGEINT) ELSE CAST(1 AS HUGEINT) END
    FROM w
    WHERE idle_mode = 'own_line' AND has_usage
), nonzero AS (
    SELECT * FROM recipients WHERE weight > 0
), complete AS (
    SELECT * FROM nonzero
    UNION ALL
    SELECT owner_rank, window_unit, window_start, platform_team, 'idle', idle_gpu_hours, CAST(1 AS HUGEINT)
    FROM w
    WHERE NOT EXISTS (SELECT 1 FROM nonzero AS n WHERE n.owner_rank = w.owner_rank
                      AND n.window_unit = w.window_unit AND n.window_start = w.window_start)
)
SELECT c.owner_rank, c.window_unit, c.window_start, c.x_Team, c.kind, c.team_gpu_hours, c.weight,
       sum(c.weight) OVER (PARTITION BY c.owner_rank, c.window_unit, c.window_start) AS total_weight,
       w.paid_gpu_hours, w.used_gpu_hours, w.idle_gpu_hours
FROM complete AS c
JOIN w ON w.owner_rank = c.owner_rank AND w.window_unit = c.window_unit AND w.window_start = c.window_start;
