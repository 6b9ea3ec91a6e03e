-- The month's AI spend per currency: total, approved, shadow and its share. Parameters: period.
SELECT BillingCurrency AS currency, ai_effective_cost AS total, approved_cost AS approved,
       shadow_cost AS shadow, shadow_share, tools, shadow_tools
FROM ai_baseline
WHERE billing_period = ?
ORDER BY currency;
