//! Sales vs ad revenue per period, plays, and statement downloads.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function EarningsPage() {
  return <ComingSoon feature={FEATURES.earnings} />;
}
