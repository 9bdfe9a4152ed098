-- TimescaleDB history: a hypertable of raw samples and continuous aggregates
-- at 1m, 5m, 1h and 1d over its good numeric samples. Each aggregate carries
-- count, sum, min, max, first and last (with their times), so a coarser
-- interval re-aggregates exactly (avg = sum/count). Real-time aggregation is
-- on, so rows newer than the last refresh are included at query time. The
-- store refreshes the affected buckets itself when it writes a sample older
-- than an aggregate's watermark. Compression and retention policies are set by
-- the store from its options (they are configuration, not schema).
--
-- Values: num holds numbers (and bools as 1/0); txt holds strings and lists
-- (as JSON).
CREATE TABLE samples (
    asset  text NOT NULL,
    signal text NOT NULL,
    ts     timestamptz NOT NULL,
    kind   text NOT NULL,
    num    double precision,
    txt    text,
    good   boolean NOT NULL,
    PRIMARY KEY (asset, signal, ts)
);
SELECT create_hypertable('samples', by_range('ts', INTERVAL '1 day'));

CREATE MATERIALIZED VIEW samples_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT asset, signal, time_bucket(INTERVAL '1 minute', ts) AS bucket,
       count(*) AS count, sum(num) AS sum, min(num) AS min, max(num) AS max,
       first(num, ts) AS first, min(ts) AS first_ts, last(num, ts) AS last, max(ts) AS last_ts
FROM samples WHERE good AND num IS NOT NULL
GROUP BY asset, signal, time_bucket(INTERVAL '1 minute', ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW samples_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT asset, signal, time_bucket(INTERVAL '5 minutes', ts) AS bucket,
       count(*) AS count, sum(num) AS sum, min(num) AS min, max(num) AS max,
       first(num, ts) AS first, min(ts) AS first_ts, last(num, ts) AS last, max(ts) AS last_ts
FROM samples WHERE good AND num IS NOT NULL
GROUP BY asset, signal, time_bucket(INTERVAL '5 minutes', ts)
WITH NO DATA;

CREATE MATERIALIZED VIEW samples_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT asset, signal, time_bucket(INTERVAL '1 hour', ts) AS bucket,
       count(*) AS count, sum(num) AS sum, min(num) AS min, max(num) AS max,
       first(num, ts) AS first, min(ts) AS first_ts, last(num, ts) AS last, max(ts) AS last_ts
FROM samples WHERE good AND num IS NOT NULL
GROUP BY asset, signal, time_bucket(INTERVAL '1 hour', ts)
WITH NO DATA;

-- Day buckets are UTC days; a query in another time zone re-aggregates the
-- hour (or finer) tier to local midnights instead.
CREATE MATERIALIZED VIEW samples_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT asset, signal, time_bucket(INTERVAL '1 day', ts) AS bucket,
       count(*) AS count, sum(num) AS sum, min(num) AS min, max(num) AS max,
       first(num, ts) AS first, min(ts) AS first_ts, last(num, ts) AS last, max(ts) AS last_ts
FROM samples WHERE good AND num IS NOT NULL
GROUP BY asset, signal, time_bucket(INTERVAL '1 day', ts)
WITH NO DATA;

-- Refresh from the beginning (only invalidated buckets are recomputed, so the
-- open start costs nothing once materialised) up to one bucket ago; newer rows
-- come from real-time aggregation.
SELECT add_continuous_aggregate_policy('samples_1m', start_offset => NULL,
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('samples_5m', start_offset => NULL,
    end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('samples_1h', start_offset => NULL,
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('samples_1d', start_offset => NULL,
    end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '15 minutes');
