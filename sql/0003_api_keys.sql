-- API keys for machine clients (twingraph apikey create|list|revoke). Only a
-- SHA-256 of the secret part is kept; the key itself is shown once, when it
-- is created. scope lists asset ids ('*': everything). A revoked key keeps
-- its row so `apikey list` still shows who held it.
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    scope        text[] NOT NULL,
    hash         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
