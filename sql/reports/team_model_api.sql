-- A team's model API cost per 1M tokens by model and tier this month: its share of each model
-- API line (SkuId = the model as the vendor reports it, ConsumedQuantity = tokens), the model's
-- tier from the rate card; cost per 1M = the model's cost (its cost lines) over its tokens (its
-- usage lines) (the longest rate-card name the model starts with).
-- Parameters: team, currency, period.
WITH lines AS (
    SELECT lower(l.ProviderName) AS provider, l.SkuId AS model, a.EffectiveCost,
           CASE WHEN lower(l.ConsumedUnit) LIKE '%token%' THEN l.ConsumedQuantity * a.x_Share END AS tokens
    FROM allocated_costs AS a
    JOIN cost_lines AS l ON l.x_LineId = a.x_LineId
    WHERE a.x_Team = ? AND a.BillingCurrency = ? AND a.billing_period = ? AND l.x_AiCategory = 'model_api'
), tiers AS (
    SELECT DISTINCT ON (m.provider, m.model) m.provider, m.model, p.tier
    FROM (SELECT DISTINCT provider, model FROM lines) AS m
    JOIN model_prices AS p
      ON p.provider = m.provider AND (m.model = p.model OR starts_with(m.model, p.model || '-'))
    ORDER BY m.provider, m.model, length(p.model) DESC, p.effective_from DESC
)
SELECT coalesce(l.model, '(no model)') AS model, coalesce(t.tier, 'unknown') AS tier,
       sum(l.EffectiveCost) AS cost, sum(l.tokens) AS tokens,
       CASE WHEN sum(l.tokens) > 0
            THEN CAST(round(sum(l.EffectiveCost) * 1000000 / sum(l.tokens), 6)
                      AS DECIMAL(38, 6)) END AS cost_per_1m_tokens
FROM lines AS l
LEFT JOIN tiers AS t ON t.provider = l.provider AND t.model IS NOT DISTINCT FROM l.model
GROUP BY ALL
ORDER BY cost DESC, model;
