-- Running totals the period close reads instead of every play and every impression, kept up
-- to date by royalties' record_* calls in the same transaction as the event they count (owned
-- by the royalties crate, royalties/src/counters.rs). Filled here from the events already
-- recorded, so that open periods close the same way after the upgrade.

-- Each listener's plays of each artist in a period (redemptions weighted).
-- WITHOUT ROWID: rows are stored in key order, so the close reads a listener's rows together.
CREATE TABLE royalty_play_counts (
    period TEXT NOT NULL,
    listener_id TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    PRIMARY KEY (period, listener_id, artist_id)
) WITHOUT ROWID;

-- Each artist's plays in a period (redemptions weighted): the pro-rata weights.
CREATE TABLE royalty_artist_plays (
    period TEXT NOT NULL,
    artist_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    PRIMARY KEY (period, artist_id)
) WITHOUT ROWID;

-- Each installer's ad revenue in a period, in micro-cents, clawbacks before the close deducted.
CREATE TABLE royalty_installer_revenue (
    period TEXT NOT NULL,
    installer_id TEXT NOT NULL,
    revenue_micro_cents BIGINT NOT NULL,
    PRIMARY KEY (period, installer_id)
) WITHOUT ROWID;

INSERT INTO royalty_play_counts (period, listener_id, artist_id, plays)
SELECT period, listener_id, artist_id, SUM(weight) FROM royalty_plays GROUP BY period, listener_id, artist_id;
INSERT INTO royalty_artist_plays (period, artist_id, plays)
SELECT period, artist_id, SUM(weight) FROM royalty_plays GROUP BY period, artist_id;
INSERT INTO royalty_installer_revenue (period, installer_id, revenue_micro_cents)
SELECT period, installer_id, SUM(amount_micro_cents) FROM royalty_ad_revenue WHERE installer_id IS NOT NULL GROUP BY period, installer_id;
