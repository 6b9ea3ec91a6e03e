-- cost_lines: every row of focus_costs plus aispend's enrichment columns; the input of
-- allocation and of the AI inventory. x_LineId numbers the lines of this build (stable order).
--
-- AI classification (DESIGN.md section 6), from the reference tables of pipelines/ai_catalog.py:
--   x_AiCategory  gpu_compute | managed_ai | model_api | ai_saas | none
--   x_AiVendor    canonical vendor (the cloud provider for cloud services and GPUs)
--   x_AiProduct   the tool: managed service, cloud service running the GPUs, vendor product
--   x_AiMatch     the rule and the pattern that matched, so every label can be explained
-- The first rule that matches wins:
--   1 managed_ai_service   cloud row whose ServiceName is a managed AI service (ai_services):
--                          SageMaker on ml.g5 is managed_ai, the platform is what was bought
--   2 gpu_instance         cloud row whose instance type (x_InstanceType, SkuPriceDetails, the
--                          usage type or SkuMeter after ':', an Azure 'Standard_...' name in the
--                          ChargeDescription) is a GPU type
--                          (rate_cards/gpu_instances.csv); x_AiProduct 'GPU instances'
--   3 gpu_sku              cloud row whose SkuMeter names GPU capacity (ai_gpu_skus)
--   4 marketplace_vendor   cloud row sold by an AI vendor (PublisherName is in the vendor list)
--   5 ai_service_category  other cloud row of ServiceCategory 'AI and Machine Learning'
--   6 model_api_usage      a model vendor's own usage/cost export (openai, anthropic): model_api,
--                          x_AiProduct the vendor's model_api product (OpenAI API).
--                          Models bought through a cloud (Bedrock, Vertex AI, Azure OpenAI) are
--                          managed_ai by rule 1: that bill, not the model's maker, is the contract.
--   7 vendor_name          invoice whose vendor is in the vendor list; a product named in the
--                          description gives its category (ChatGPT seats: ai_saas)
--   8 ai_invoice           invoice line of an AI vendor not in the list: ai_saas
--   9 card_descriptor      expense whose card descriptor matches a vendor pattern word by word,
--                          or is one cut short (see rate_cards/ai_vendors.yaml)
--  10 merchant_name        expense whose merchant name is a vendor's name or alias
-- Anything else is 'none': an unknown merchant is never guessed.

-- Text key: upper case, accents dropped, every run of other characters (punctuation, '*') one space.
CREATE OR REPLACE MACRO ai_text_key(s) AS
    trim(regexp_replace(upper(strip_accents(s)), '[^A-Z0-9]+', ' ', 'g'));
-- Card descriptor key: the text key without trailing store numbers ("#0423", "8005551234").
CREATE OR REPLACE MACRO ai_descriptor_key(s) AS
    regexp_replace(ai_text_key(s), '( [A-Z]*[0-9][A-Z0-9]*)+$', '');

-- Where a line was billed: 'cloud', 'expense', or 'invoice' (by the vendor itself).
CREATE OR REPLACE MACRO ai_source_kind(src) AS
    CASE WHEN src IN ('aws-cur', 'gcp-billing', 'azure-cost') THEN 'cloud'
         WHEN src = 'expenses' THEN 'expense' ELSE 'invoice' END;

-- The wide rows flow through once (scan, number, join small match tables); the match tables are
-- built from distinct values of a few columns, each its own narrow scan.
CREATE OR REPLACE TABLE cost_lines AS
WITH f AS NOT MATERIALIZED (
    -- The expense columns exist once an expense partition is published: NULL before that.
    FROM focus_costs
    UNION ALL BY NAME
    SELECT NULL::VARCHAR AS x_MerchantDescriptor, NULL::VARCHAR AS x_Employee WHERE false
), names AS (
    -- name key -> vendor (and product); a key naming two vendors is ambiguous and used by none
    SELECT ai_text_key(name) AS name_key, min(vendor) AS vendor,
           CASE WHEN count(product) = count(*) AND count(DISTINCT product) = 1 THEN min(product) END AS product
    FROM ai_vendor_names
    GROUP BY 1
    HAVING count(DISTINCT vendor) = 1
), service_names AS (
    -- an invoice from a vendor not in the list may name a listed tool in its ServiceName
    -- (GitHub bills 'GitHub Copilot Business'): the longest listed name found in it wins
    SELECT k.ServiceName, n.vendor, n.product
    FROM (SELECT DISTINCT ServiceName FROM f
          WHERE ai_source_kind(x_Source) = 'invoice' AND ServiceName IS NOT NULL) AS k
    JOIN names AS n ON contains(' ' || ai_text_key(k.ServiceName) || ' ', ' ' || n.name_key || ' ')
    QUALIFY row_number() OVER (PARTITION BY k.ServiceName ORDER BY length(n.name_key) DESC, n.vendor) = 1
), services AS (
    SELECT k.ProviderName, k.ServiceName, s.product, s.category, s.service_pattern
    FROM (SELECT DISTINCT ProviderName, ServiceName FROM f WHERE ai_source_kind(x_Source) = 'cloud') AS k
    JOIN ai_services AS s ON s.provider = k.ProviderName AND k.ServiceName ILIKE s.service_pattern
    QUALIFY row_number() OVER (PARTITION BY k.ProviderName, k.ServiceName
                               ORDER BY length(s.service_pattern) DESC, s.product) = 1
), gpu_skus AS (
    SELECT k.ProviderName, k.ServiceName, k.SkuMeter, min(g.sku_pattern) AS sku_pattern
    FROM (SELECT DISTINCT ProviderName, ServiceName, SkuMeter FROM f
          WHERE ai_source_kind(x_Source) = 'cloud' AND ProviderName IN (SELECT provider FROM ai_gpu_skus)) AS k
    JOIN ai_gpu_skus AS g ON g.provider = k.ProviderName AND k.ServiceName ILIKE g.service_pattern
                         AND k.SkuMeter ILIKE g.sku_pattern
    GROUP BY ALL
), descriptors AS (
    -- expense card descriptors, keyed, a payment facilitator prefix ("SQ *") removed
    SELECT raw, regexp_replace(ai_descriptor_key(raw),
                               coalesce((SELECT '^(' || string_agg(ai_text_key(prefix), '|') || ') '
                                         FROM ai_descriptor_prefixes), '[^\s\S]'), '') AS dkey
    FROM (SELECT DISTINCT coalesce(x_MerchantDescriptor, ProviderName) AS raw FROM f
          WHERE ai_source_kind(x_Source) = 'expense')
), descriptor_words AS (
    -- its first word and its word prefixes: 'ANTHROPIC CLAUDE S' -> 'ANTHROPIC', 'ANTHROPIC CLAUDE', ...
    SELECT raw, dkey, toks[1] AS first_word,
           list_transform(range(1, len(toks) + 1), lambda i: array_to_string(toks[1:i], ' ')) AS prefixes
    FROM (SELECT raw, dkey, string_split(dkey, ' ') AS toks FROM descriptors WHERE dkey <> '')
), descriptor_candidates AS (
    -- Pattern p and descriptor d share their first word (so it is always complete). The matched
    -- text is p when d starts with p at a word boundary, or with p whose last word is cut short
    -- ('...CLAUDE SUB' in '...CLAUDE SUBSCRIPTION'); else the longest word prefix w of d with two
    -- or more words that p starts with: whole words, w all of d (cut at the end), or a last word
    -- of 3+ letters cut before other fields ('ANTHROPIC CLAUDE TEA SAN FRANCISCO' for '...TEAM').
    SELECT d.raw, d.dkey, p.vendor, p.product, p.category, p.descriptor, p.pkey,
           CASE WHEN starts_with(d.dkey || ' ', p.pkey || ' ')
                  OR (contains(p.pkey, ' ') AND starts_with(d.dkey, p.pkey)) THEN p.pkey
                ELSE list_last(list_filter(d.prefixes, lambda w: contains(w, ' ') AND starts_with(p.pkey, w)
                                   AND (starts_with(p.pkey || ' ', w || ' ') OR w = d.dkey
                                        OR length(string_split(w, ' ')[-1]) >= 3)))
           END AS w
    FROM descriptor_words AS d
    JOIN (SELECT *, ai_descriptor_key(descriptor) AS pkey, string_split(ai_descriptor_key(descriptor), ' ')[1] AS first_word
          FROM ai_vendor_descriptors) AS p ON p.first_word = d.first_word
), descriptor_matches AS (
    -- the longest match wins, a product over its vendor
    SELECT * FROM descriptor_candidates
    WHERE w IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY raw ORDER BY length(w) DESC, product NULLS LAST, vendor, pkey) = 1
), classified AS (
    SELECT l.*,
           s.product AS __svc_product, s.category AS __svc_category, s.service_pattern AS __svc_pattern,
           g.gpu_model AS __gpu_model, g.gpu_count AS __gpu_count, g.instance_type AS __gpu_instance,
           k.sku_pattern AS __sku_pattern,
           coalesce(n.vendor, sn.vendor) AS __name_vendor,
           CASE WHEN n.vendor IS NOT NULL THEN n.product ELSE sn.product END AS __name_product,
           CASE WHEN n.vendor IS NULL AND sn.vendor IS NOT NULL THEN 'ServiceName' ELSE 'ProviderName' END AS __name_field,
           dm.vendor AS __d_vendor, dm.product AS __d_product, dm.category AS __d_category,
           dm.descriptor AS __d_pattern, dm.w AS __d_w, dm.pkey AS __d_pkey, dm.dkey AS __d_key
    FROM (SELECT row_number() OVER (ORDER BY provider, billing_period, x_SourceFile, x_SourceRow,
                                         -- one source row may give several lines (a usage item's token types):
                                         -- break ties on what tells them apart, so a rebuild numbers alike
                                         SkuMeter, ChargeDescription, ChargePeriodStart, BilledCost, EffectiveCost,
                                         ConsumedQuantity, SkuPriceId) AS x_LineId,
                 *,
                 ai_source_kind(x_Source) AS __kind,
                 lower(coalesce(x_InstanceType,
                                json_extract_string(SkuPriceDetails, '$.InstanceType'),
                                NULLIF(regexp_extract(x_UsageType, ':([A-Za-z0-9._-]+)$', 1), ''),
                                NULLIF(regexp_extract(SkuMeter, ':([A-Za-z0-9._-]+)$', 1), ''),
                                NULLIF(regexp_extract(ChargeDescription, '(Standard_[A-Za-z0-9_]+)', 1), ''))) AS __instance,
                 CASE WHEN ai_source_kind(x_Source) = 'cloud' THEN ai_text_key(PublisherName)
                      ELSE ai_text_key(ProviderName) END AS __name_key
          FROM f) AS l
    LEFT JOIN services AS s ON l.__kind = 'cloud' AND s.ProviderName = l.ProviderName AND s.ServiceName = l.ServiceName
    LEFT JOIN gpu_instances AS g ON l.__kind = 'cloud' AND g.provider = l.ProviderName
                                AND lower(g.instance_type) = l.__instance
    LEFT JOIN gpu_skus AS k ON k.ProviderName = l.ProviderName AND k.ServiceName = l.ServiceName AND k.SkuMeter = l.SkuMeter
    LEFT JOIN names AS n ON n.name_key = l.__name_key
    LEFT JOIN service_names AS sn ON l.__kind = 'invoice' AND n.vendor IS NULL AND sn.ServiceName = l.ServiceName
    LEFT JOIN descriptor_matches AS dm ON l.__kind = 'expense' AND dm.raw = coalesce(l.x_MerchantDescriptor, l.ProviderName)
), api_products AS (
    -- the vendor's model API product (OpenAI API): the tool of its usage export's lines
    SELECT vendor, min(product) AS product FROM ai_vendor_products
    WHERE category = 'model_api' AND product IS NOT NULL
    GROUP BY vendor
), invoice_products AS (
    -- a product of the invoice's vendor named in its description (the longest name wins)
    SELECT k.__name_vendor, k.ChargeDescription, n.product, n.name
    FROM (SELECT DISTINCT v.vendor AS __name_vendor, f.ChargeDescription FROM f
          JOIN names AS v ON v.name_key = ai_text_key(f.ProviderName) AND v.product IS NULL
          WHERE ai_source_kind(f.x_Source) = 'invoice' AND f.ChargeDescription IS NOT NULL) AS k
    JOIN ai_vendor_names AS n ON n.vendor = k.__name_vendor AND n.product IS NOT NULL
     AND contains(' ' || ai_text_key(k.ChargeDescription) || ' ', ' ' || ai_text_key(n.name) || ' ')
    QUALIFY row_number() OVER (PARTITION BY k.__name_vendor, k.ChargeDescription
                               ORDER BY length(ai_text_key(n.name)) DESC, n.product) = 1
), decided AS (
    SELECT c.*,
           CASE WHEN c.__kind = 'cloud' THEN
                    CASE WHEN c.__svc_product IS NOT NULL THEN 'managed_ai_service'
                         WHEN c.__gpu_model IS NOT NULL THEN 'gpu_instance'
                         WHEN c.__sku_pattern IS NOT NULL THEN 'gpu_sku'
                         WHEN c.__name_vendor IS NOT NULL THEN 'marketplace_vendor'
                         WHEN c.ServiceCategory = 'AI and Machine Learning' THEN 'ai_service_category' END
                WHEN c.__kind = 'invoice' THEN
                    CASE WHEN c.x_Source IN ('openai', 'anthropic') THEN 'model_api_usage'
                         WHEN c.__name_vendor IS NOT NULL THEN 'vendor_name'
                         WHEN c.ServiceCategory = 'AI and Machine Learning' THEN 'ai_invoice' END
                ELSE
                    CASE WHEN c.__d_vendor IS NOT NULL THEN 'card_descriptor'
                         WHEN c.__name_vendor IS NOT NULL THEN 'merchant_name' END
           END AS __rule,
           coalesce(c.__name_product, ip.product) AS __vendor_product, ip.name AS __product_name,
           ap.product AS __api_product
    FROM classified AS c
    LEFT JOIN invoice_products AS ip ON ip.__name_vendor = c.__name_vendor AND ip.ChargeDescription = c.ChargeDescription
                                    AND c.__kind = 'invoice' AND c.__name_product IS NULL
    LEFT JOIN api_products AS ap ON ap.vendor = c.__name_vendor AND c.x_Source IN ('openai', 'anthropic')
), labelled AS (
    SELECT d.*,
           CASE d.__rule
               WHEN 'managed_ai_service' THEN d.__svc_category
               WHEN 'gpu_instance' THEN 'gpu_compute'
               WHEN 'gpu_sku' THEN 'gpu_compute'
               WHEN 'ai_service_category' THEN 'managed_ai'
               WHEN 'model_api_usage' THEN 'model_api'
               WHEN 'ai_invoice' THEN 'ai_saas'
               WHEN 'card_descriptor' THEN d.__d_category
               WHEN 'marketplace_vendor' THEN vp.category
               WHEN 'vendor_name' THEN vp.category
               WHEN 'merchant_name' THEN vp.category
               ELSE 'none' END AS x_AiCategory,
           CASE WHEN d.__rule IN ('managed_ai_service', 'gpu_instance', 'gpu_sku', 'ai_service_category') THEN d.ProviderName
                WHEN d.__rule = 'card_descriptor' THEN d.__d_vendor
                WHEN d.__rule = 'ai_invoice' THEN trim(d.ProviderName)
                WHEN d.__rule = 'model_api_usage' THEN coalesce(d.__name_vendor, trim(d.ProviderName))
                ELSE d.__name_vendor END AS x_AiVendor,
           CASE d.__rule
               WHEN 'managed_ai_service' THEN d.__svc_product
               WHEN 'gpu_instance' THEN 'GPU instances'
               WHEN 'gpu_sku' THEN 'GPU instances'
               WHEN 'ai_service_category' THEN d.ServiceName
               WHEN 'card_descriptor' THEN d.__d_product
               WHEN 'model_api_usage' THEN d.__api_product
               ELSE d.__vendor_product END AS x_AiProduct,
           CASE d.__rule
               WHEN 'managed_ai_service' THEN 'managed_ai_service: ServiceName ''' || d.ServiceName || ''' is '
                   || d.__svc_product || coalesce(' (on GPU instance ' || d.__gpu_instance || ')', '')
               WHEN 'gpu_instance' THEN 'gpu_instance: ' || d.__gpu_instance || ' has ' || d.__gpu_count
                   || ' x ' || d.__gpu_model
               WHEN 'gpu_sku' THEN 'gpu_sku: SkuMeter ''' || d.SkuMeter || ''' matches ''' || d.__sku_pattern || ''''
               WHEN 'marketplace_vendor' THEN 'marketplace_vendor: PublisherName ''' || d.PublisherName
                   || ''' is vendor ' || d.__name_vendor
               WHEN 'ai_service_category' THEN 'ai_service_category: ServiceName ''' || d.ServiceName
                   || ''' is in ServiceCategory ''AI and Machine Learning'''
               WHEN 'model_api_usage' THEN 'model_api_usage: ' || d.x_Source || ' usage export of '
                   || coalesce(d.__name_vendor, trim(d.ProviderName))
               WHEN 'vendor_name' THEN 'vendor_name: ' || d.__name_field || ' '''
                   || CASE d.__name_field WHEN 'ServiceName' THEN d.ServiceName ELSE d.ProviderName END
                   || ''' ' || CASE d.__name_field WHEN 'ServiceName' THEN 'names' ELSE 'is' END || ' vendor ' || d.__name_vendor
                   || coalesce(', product ''' || d.__product_name || ''' in ChargeDescription', '')
               WHEN 'ai_invoice' THEN 'ai_invoice: ''' || d.ProviderName
                   || ''' is not in the vendor list; its invoice is AI and Machine Learning'
               WHEN 'card_descriptor' THEN 'card_descriptor: ''' || d.__d_key || ''' '
                   || CASE WHEN d.__d_w = d.__d_pkey THEN 'starts with' ELSE 'is cut short from' END
                   || ' pattern ''' || d.__d_pattern || ''' of ' || d.__d_vendor || coalesce(' / ' || d.__d_product, '')
               WHEN 'merchant_name' THEN 'merchant_name: ''' || d.ProviderName || ''' is a name of ' || d.__name_vendor
           END AS x_AiMatch
    FROM decided AS d
    LEFT JOIN ai_vendor_products AS vp ON vp.vendor = d.__name_vendor
                                      AND vp.product IS NOT DISTINCT FROM d.__vendor_product
)
SELECT * EXCLUDE (__kind, __instance, __name_key, __svc_product, __svc_category, __svc_pattern, __gpu_model,
                  __gpu_count, __gpu_instance, __sku_pattern, __name_vendor, __name_product, __d_vendor,
                  __d_product, __d_category, __d_pattern, __d_w, __d_pkey, __d_key, __rule, __vendor_product, __api_product,
                  __product_name, __name_field)
FROM labelled;
