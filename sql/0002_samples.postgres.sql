-- Plain PostgreSQL history: raw samples partitioned by month (partitions are
-- created by the store before it writes into a new month), plus rollup tables
-- at 1m, 5m, 1h and 1d that the store upserts in the same statement as the
-- raw insert, from the rows that insert actually added (so a replayed sample
-- never counts twice and a late sample is visible at once).
--
-- Values: num holds numbers (and bools as 1/0); txt holds strings and lists
-- (as JSON). Only good numeric samples are aggregated.
CREATE TABLE samples (
    asset  text NOT NULL,
    signal text NOT NULL,
    ts     timestamptz NOT NULL,
    kind   text NOT NULL,
    num    double precision,
    txt    text,
    good   boolean NOT NULL,
    PRIMARY KEY (asset, signal, ts)
) PARTITION BY RANGE (ts);

-- Every tier carries count, sum, min, max, first and last (with the times of
-- first and last), so a coarser interval re-aggregates exactly: avg = sum/count.
CREATE TABLE samples_1m (
    asset    text NOT NULL,
    signal   text NOT NULL,
    bucket   timestamptz NOT NULL,
    count    bigint NOT NULL,
    sum      double precision NOT NULL,
    min      double precision NOT NULL,
    max      double precision NOT NULL,
    first    double precision NOT NULL,
    first_ts timestamptz NOT NULL,
    last     double precision NOT NULL,
    last_ts  timestamptz NOT NULL,
    PRIMARY KEY (asset, signal, bucket)
);
CREATE TABLE samples_5m (LIKE samples_1m INCLUDING ALL);
CREATE TABLE samples_1h (LIKE samples_1m INCLUDING ALL);
CREATE TABLE samples_1d (LIKE samples_1m INCLUDING ALL);
