//! The operator's console: campaigns, period close, payout runs, the ledger check, flagged devices.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function OperatorPage() {
  return <ComingSoon feature={FEATURES.operator} />;
}
