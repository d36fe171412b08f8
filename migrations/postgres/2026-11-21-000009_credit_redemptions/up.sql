-- Tracks a listener redeemed with an installer's download credit (payments' entitlements; the
-- credit itself is the ads crate's `ads_redemptions` row of the same transaction). One per
-- listener and track: the key refuses a second redemption of a track already redeemed.
CREATE TABLE payment_credit_entitlements (
    listener_id TEXT NOT NULL,
    track_id TEXT NOT NULL,
    redemption_id TEXT NOT NULL UNIQUE,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (listener_id, track_id)
);
