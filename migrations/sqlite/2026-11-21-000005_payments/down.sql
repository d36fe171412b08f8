DROP TABLE payment_test_transfers;
DROP TABLE payment_test_events;
DROP TABLE payment_test_sessions;
DROP TABLE payment_payout_accounts;
DROP TABLE payment_webhook_events;
DROP TABLE payment_entitlements;
DROP TABLE payment_order_lines;
DROP TABLE payment_orders;
