//! A release: artwork, tracklist with previews, and buying.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function ReleasePage(_props: { releaseId: string }) {
  return <ComingSoon feature={FEATURES.release} />;
}
