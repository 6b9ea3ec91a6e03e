-- The teams with cost in the month (not 'unallocated': nobody to send it to). Parameters: period.
SELECT DISTINCT x_Team AS team FROM showback
WHERE billing_period = ? AND x_Team <> 'unallocated'
ORDER BY team;
