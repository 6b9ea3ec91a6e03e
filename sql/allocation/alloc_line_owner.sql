-- alloc_line_owner: one row per cost line: the pool or rule that allocates it (owner_rank into
-- alloc_owners; NULL = unallocated). Pools come first, then rules in config order; the first
-- owner whose conditions all hold wins. A condition group holds when any of its values equals
-- the line's (normalized) value; match values are data in alloc_conditions, joined, never SQL.
CREATE OR REPLACE TABLE alloc_line_owner AS
WITH columns_as_facts AS (
    SELECT x_LineId, unnest([
        {'field': 'account', 'value': SubAccountId},
        {'field': 'account', 'value': BillingAccountId},
        {'field': 'provider', 'value': ProviderName},
        {'field': 'service', 'value': ServiceName},
        {'field': 'service_category', 'value': ServiceCategory},
        {'field': 'sku', 'value': SkuId},
        {'field': 'usage_type', 'value': x_UsageType},
        {'field': 'resource_id', 'value': ResourceId},
        {'field': 'instance_type', 'value': x_InstanceType}]) AS f
    FROM cost_lines
), facts AS (
    SELECT x_LineId, f.field AS field, lower(trim(regexp_replace(f.value, '[ \t\n\r\f\v]+', ' ', 'g'))) AS value
    FROM columns_as_facts
    WHERE f.value IS NOT NULL AND f.field IN (SELECT field FROM alloc_conditions)
), tag_facts AS (
    SELECT x_LineId, tag_key AS key, tag_value AS value FROM alloc_line_tags
), hits AS (
    SELECT f.x_LineId, c.owner_rank, c.grp
    FROM facts AS f JOIN alloc_conditions AS c ON c.field = f.field AND c.value = f.value
    UNION ALL
    SELECT t.x_LineId, c.owner_rank, c.grp
    FROM tag_facts AS t JOIN alloc_conditions AS c ON c.field = 'tag' AND c.key = t.key AND c.value = t.value
    UNION ALL
    SELECT t.x_LineId, c.owner_rank, c.grp
    FROM tag_facts AS t JOIN alloc_conditions AS c ON c.field = 'tag' AND c.key = t.key AND c.value IS NULL
), matched AS (
    SELECT h.x_LineId, h.owner_rank
    FROM hits AS h JOIN alloc_owners AS o ON o.owner_rank = h.owner_rank
    GROUP BY h.x_LineId, h.owner_rank, o.n_groups
    HAVING count(DISTINCT h.grp) = o.n_groups
), first_match AS (
    SELECT x_LineId, min(owner_rank) AS owner_rank FROM matched GROUP BY x_LineId
)
-- a rule without conditions matches every line (a catch-all), from its place in the order on
SELECT l.x_LineId,
       least(m.owner_rank, (SELECT min(owner_rank) FROM alloc_owners WHERE n_groups = 0)) AS owner_rank
FROM cost_lines AS l
LEFT JOIN first_match AS m ON m.x_LineId = l.x_LineId;
