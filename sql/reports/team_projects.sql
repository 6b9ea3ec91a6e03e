-- A team's cost by its lines' canonical `project` tag this month. Parameters: team, currency,
-- period, limit.
SELECT coalesce(t.tag_value, '(no project tag)') AS project, sum(a.EffectiveCost) AS cost
FROM allocated_costs AS a
LEFT JOIN alloc_line_tags AS t ON t.x_LineId = a.x_LineId AND t.tag_key = 'project'
WHERE a.x_Team = ? AND a.BillingCurrency = ? AND a.billing_period = ?
GROUP BY ALL
ORDER BY cost DESC, project
LIMIT ?;
