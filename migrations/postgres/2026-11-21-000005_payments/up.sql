-- Payments: orders (one per cart), their lines, entitlements, processed webhook events, artists'
-- connected payout accounts, and the test-mode gateway's own sessions, events and transfers.
-- Ids of other crates' objects (users, artists, releases, tracks) are stored without foreign keys:
-- each crate owns its tables.

CREATE TABLE payment_orders (
    id TEXT PRIMARY KEY NOT NULL,
    listener_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'canceled', 'refunded', 'disputed')),
    gateway TEXT NOT NULL CHECK (gateway IN ('stripe', 'test_mode')),
    cart_fingerprint TEXT NOT NULL,
    total_cents BIGINT NOT NULL CHECK (total_cents > 0),
    session_id TEXT UNIQUE,
    checkout_url TEXT,
    charge_id TEXT,
    fee_cents BIGINT,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX payment_orders_listener ON payment_orders (listener_id, cart_fingerprint, status);

CREATE TABLE payment_order_lines (
    order_id TEXT NOT NULL REFERENCES payment_orders (id),
    item_ref TEXT NOT NULL,
    item_kind TEXT NOT NULL CHECK (item_kind IN ('release', 'track')),
    item_id TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    title TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (order_id, item_ref)
);

CREATE TABLE payment_entitlements (
    listener_id TEXT NOT NULL,
    item_kind TEXT NOT NULL CHECK (item_kind IN ('release', 'track')),
    item_id TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES payment_orders (id),
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (listener_id, item_kind, item_id, order_id)
);
CREATE INDEX payment_entitlements_order ON payment_entitlements (order_id);

CREATE TABLE payment_webhook_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    processed_at TIMESTAMP NOT NULL
);

CREATE TABLE payment_payout_accounts (
    artist_id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'disabled')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE payment_test_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL UNIQUE,
    amount_cents BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'canceled')),
    charge_id TEXT UNIQUE,
    fee_cents BIGINT,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE payment_test_events (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL UNIQUE REFERENCES payment_test_sessions (id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE payment_test_transfers (
    idempotency_key TEXT PRIMARY KEY NOT NULL,
    transfer_id TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    created_at TIMESTAMP NOT NULL
);
