-- Business events. The id is deterministic (twin.EventID), so a replayed event
-- is dropped by ON CONFLICT (id) DO NOTHING. seq orders events for cursors; the
-- store takes a transaction-scoped advisory lock around every event insert, so
-- seq order is commit order and a reader never sees a higher seq before a lower
-- one commits.
CREATE TABLE events (
    id      text PRIMARY KEY,
    seq     bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    asset   text NOT NULL,
    kind    text NOT NULL,
    ts      timestamptz NOT NULL,
    -- The rest of the event (modes, duration, code, batch, product) as JSON.
    payload jsonb NOT NULL
);

CREATE INDEX events_asset_seq ON events (asset, seq);
CREATE INDEX events_ts ON events (ts);
