-- How many job tokens the last statement on the bucket took: admission takes a tenant's tokens for
-- a whole batch in one statement, and RETURNING cannot show the tokens the row had before.
ALTER TABLE job_token_buckets ADD COLUMN taken integer NOT NULL DEFAULT 0 CHECK (taken >= 0);
