-- The royalty ledger and its sources, owned by the royalties crate (royalties/src/schema.rs).
-- Money is BIGINT: ledger amounts in micro-cents (millionths of a cent, so ad accruals are
-- exact), everything else in cents as the column name says.

-- Calendar months ("2026-11"). Events dated in a closing or closed month are booked into the
-- next open one.
CREATE TABLE royalty_periods (
    period TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closing', 'closed')),
    allocation_model TEXT CHECK (allocation_model IN ('user_centric', 'pro_rata')),
    -- Ad revenue of the period in micro-cents, what became the pool (whole cents), and the
    -- micro-cents carried into the next period.
    ad_revenue_micro_cents BIGINT NOT NULL DEFAULT 0,
    pool_cents BIGINT NOT NULL DEFAULT 0,
    carried_micro_cents BIGINT NOT NULL DEFAULT 0,
    artist_share_bps BIGINT NOT NULL DEFAULT 0,
    closed_at TIMESTAMP
);

-- Balances are cached here and checked against the sum of the lines by `verify`.
CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('artist_payable', 'artist_receivable', 'platform_revenue',
        'processor_fees', 'ad_pending', 'ad_pool', 'advertisers', 'payouts_in_transit', 'gateway')),
    artist_id TEXT,
    balance_micro_cents BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_accounts_kind ON ledger_accounts (kind, artist_id);

-- Append-only: rows are never updated or deleted; corrections are reversing transactions.
CREATE TABLE ledger_transactions (
    id TEXT PRIMARY KEY NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'ad_revenue', 'ad_clawback', 'period_pool',
        'ad_allocation', 'payout', 'payout_posted', 'payout_voided', 'debt_recovery')),
    source_id TEXT NOT NULL,
    -- The period whose statements show this transaction.
    period TEXT NOT NULL,
    reverses_transaction_id TEXT REFERENCES ledger_transactions (id),
    booked_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_transactions_period ON ledger_transactions (period, kind);

CREATE TABLE ledger_lines (
    transaction_id TEXT NOT NULL REFERENCES ledger_transactions (id),
    line_number BIGINT NOT NULL,
    account_code TEXT NOT NULL REFERENCES ledger_accounts (code),
    amount_micro_cents BIGINT NOT NULL,
    -- What inside the source this line is for (a sale item, an artist's ad share).
    source_ref TEXT NOT NULL,
    PRIMARY KEY (transaction_id, line_number)
);
CREATE INDEX ledger_lines_account ON ledger_lines (account_code, transaction_id);

-- One row per sold item; `refund_id` is set when the item is refunded.
CREATE TABLE royalty_sale_items (
    sale_id TEXT NOT NULL,
    item_ref TEXT NOT NULL,
    cart_id TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    gross_cents BIGINT NOT NULL,
    fee_cents BIGINT NOT NULL,
    net_cents BIGINT NOT NULL,
    artist_share_bps BIGINT NOT NULL,
    artist_cents BIGINT NOT NULL,
    period TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    refund_id TEXT,
    refund_artist_cents BIGINT,
    PRIMARY KEY (sale_id, item_ref)
);
CREATE INDEX royalty_sale_items_artist ON royalty_sale_items (artist_id, period);

-- Each artist's running sales entitlement per period: the exact share (net × basis points) and
-- the whole cents credited, which stays within half a cent of it.
CREATE TABLE royalty_artist_sales (
    artist_id TEXT NOT NULL,
    period TEXT NOT NULL,
    share_numerator BIGINT NOT NULL,
    credited_cents BIGINT NOT NULL,
    PRIMARY KEY (artist_id, period)
);

-- Ad revenue accrued per event (positive), clawed back (negative), adjusted after a close
-- (negative, unattributed) or carried from the previous period (unattributed).
CREATE TABLE royalty_ad_revenue (
    source_id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('accrual', 'clawback', 'adjustment', 'carry')),
    installer_id TEXT COLLATE "C",
    campaign_id TEXT,
    amount_micro_cents BIGINT NOT NULL,
    period TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX royalty_ad_revenue_period ON royalty_ad_revenue (period, installer_id, amount_micro_cents);

-- Qualifying plays and credit redemptions; `weight` is 1 for a play, N for a redemption.
-- Ids compare bytewise (collation "C", as SQLite does): the close sorts and groups millions of
-- them, and its tie-breaks must order ids the same way on both backends.
CREATE TABLE royalty_plays (
    kind TEXT NOT NULL CHECK (kind IN ('play', 'redemption')),
    source_id TEXT NOT NULL,
    listener_id TEXT COLLATE "C" NOT NULL,
    artist_id TEXT COLLATE "C" NOT NULL,
    track_id TEXT,
    weight BIGINT NOT NULL,
    period TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, source_id)
);
CREATE INDEX royalty_plays_period ON royalty_plays (period, listener_id, artist_id, weight);

-- Each artist's share of a closed period's ad pool; `weight` is the exact proportion used.
CREATE TABLE royalty_ad_allocations (
    period TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    weight BIGINT NOT NULL,
    plays BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (period, artist_id)
);

CREATE TABLE royalty_payout_accounts (
    artist_id TEXT PRIMARY KEY NOT NULL,
    destination TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'disabled')),
    updated_at TIMESTAMP NOT NULL
);

-- A payout's id is the gateway's idempotency key; the row is committed before the gateway call.
CREATE TABLE royalty_payouts (
    id TEXT PRIMARY KEY NOT NULL,
    artist_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'posted', 'voided')),
    transfer_id TEXT,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX royalty_payouts_artist ON royalty_payouts (artist_id, status);
-- At most one payout in flight per artist, even with two payout runs at once.
CREATE UNIQUE INDEX royalty_payouts_one_pending ON royalty_payouts (artist_id) WHERE status = 'pending';
