-- The billing months the warehouse holds up to the report's month (any team): a month before
-- the data began is not a zero month. Parameters: period.
SELECT DISTINCT billing_period FROM showback WHERE billing_period <= ? ORDER BY billing_period;
