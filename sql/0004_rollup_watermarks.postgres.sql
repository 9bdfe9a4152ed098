-- Rollups materialised behind a watermark (plain PostgreSQL), as TimescaleDB
-- materialises its continuous aggregates: a tier holds every bucket before its
-- watermark exactly; newer data is aggregated at query time from the finer
-- tiers and the raw samples. The store advances the watermarks in bulk, and a
-- sample written behind a watermark (late) updates that tier in the same
-- statement as its insert, so every read stays exact.
--
-- Writers lock this table in SHARE mode for their transaction and the store's
-- materialiser in EXCLUSIVE mode, so a watermark never passes a sample that a
-- writer judged on time but has not committed yet.
CREATE TABLE rollup_watermarks (
    tier text PRIMARY KEY,
    upto timestamptz NOT NULL
);

-- A database that already holds rollups was rolled up synchronously up to now:
-- its watermarks start ahead of every sample that can exist (clock skew is
-- bounded to minutes), all at the same instant — a UTC midnight, on a bucket
-- boundary of every tier — so until then every sample takes the synchronous
-- path as before and nothing is counted twice or left out. A fresh database
-- starts at the beginning of time and is materialised from its first samples.
INSERT INTO rollup_watermarks (tier, upto)
SELECT t.tier,
       CASE WHEN EXISTS (SELECT 1 FROM samples_1m)
            THEN date_bin('1 day', now() + interval '1 hour', TIMESTAMPTZ '1970-01-01 00:00:00+00') + interval '1 day'
            ELSE TIMESTAMPTZ '0001-01-01 00:00:00+00' END
FROM (VALUES ('samples_1m'), ('samples_5m'), ('samples_1h'), ('samples_1d')) AS t(tier);

-- The materialiser reads the raw samples of a time range: samples arrive
-- roughly in time order, so this index grows at its right edge, and the range
-- read finds recent, cached heap pages.
CREATE INDEX samples_ts ON samples (ts);
