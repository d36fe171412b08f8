//! What the listener owns: stream in full, download in a chosen format.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function LibraryPage() {
  return <ComingSoon feature={FEATURES.library} />;
}
