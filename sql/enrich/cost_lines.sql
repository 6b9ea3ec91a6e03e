-- cost_lines: every row of focus_costs plus aispend's enrichment columns; the input of
-- allocation and of the AI inventory. x_LineId numbers the lines of this build (stable order).
-- PLACEHOLDER until the classification of issue 4 lands: x_AiCategory is 'none' everywhere.
CREATE OR REPLACE TABLE cost_lines AS
SELECT row_number() OVER (ORDER BY f.provider, f.billing_period, f.x_SourceFile, f.x_SourceRow) AS x_LineId,
       f.*,
       CAST('none' AS VARCHAR) AS x_AiCategory,  -- gpu_compute, model_api, managed_ai, ai_saas, none
       CAST(NULL AS VARCHAR) AS x_AiVendor       -- canonical AI vendor / tool name, when AI
FROM focus_costs AS f;
