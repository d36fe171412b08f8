//! The payout account and the history of transfers.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function PayoutsPage() {
  return <ComingSoon feature={FEATURES.payouts} />;
}
