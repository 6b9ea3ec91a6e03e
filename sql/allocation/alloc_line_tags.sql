-- alloc_line_tags: one row per cost line that carries a canonical tag: its canonical tags
-- (team, project, cost_center, env, ai_project and any configured key) as a map. A tag key
-- matches an alias case-insensitively; when two aliases of one key are both present, the one
-- listed first in the config wins. Values are case- and whitespace-normalized; empty ones drop.
CREATE OR REPLACE TABLE alloc_line_tags AS
WITH raw AS (
    SELECT x_LineId, unnest(map_entries(json_transform(Tags, '"MAP(VARCHAR, VARCHAR)"'))) AS e
    FROM cost_lines
    WHERE Tags IS NOT NULL
), canonical AS (
    SELECT r.x_LineId, a.canonical_key, a.position,
           lower(trim(regexp_replace(r.e.value, '[ \t\n\r\f\v]+', ' ', 'g'))) AS tag_value
    FROM raw AS r
    JOIN alloc_tag_aliases AS a ON a.alias = lower(trim(r.e.key))
), chosen AS (
    SELECT x_LineId, canonical_key, arg_min(tag_value, position) AS tag_value
    FROM canonical
    WHERE tag_value <> ''
    GROUP BY x_LineId, canonical_key
)
SELECT x_LineId, map_from_entries(list({'key': canonical_key, 'value': tag_value})) AS canonical_tags
FROM chosen
GROUP BY x_LineId;
