-- alloc_line_tags: one row per (cost line, canonical tag key): the line's value for team,
-- project, cost_center, env, ai_project or any configured key. A tag key matches an alias
-- case-insensitively; when two aliases of one key are both present, the one listed first in
-- the config wins. Values are case- and whitespace-normalized; empty ones are dropped.
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
)
SELECT x_LineId, canonical_key AS tag_key, arg_min(tag_value, position) AS tag_value
FROM canonical
WHERE tag_value <> ''
GROUP BY x_LineId, canonical_key;
