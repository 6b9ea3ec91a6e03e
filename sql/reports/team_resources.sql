-- A team's most expensive resources this month (a pool's share is one resource: the pool used
-- by the team). Parameters: team, currency, period, limit.
SELECT coalesce(AllocatedResourceName, AllocatedResourceId, '(no resource id)') AS resource,
       coalesce(ServiceName, '') AS service, sum(EffectiveCost) AS cost
FROM allocated_costs
WHERE x_Team = ? AND BillingCurrency = ? AND billing_period = ?
GROUP BY ALL
ORDER BY cost DESC, resource
LIMIT ?;
