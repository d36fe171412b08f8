//! An artist and their releases.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function ArtistPage(_props: { artistId: string }) {
  return <ComingSoon feature={FEATURES.artist} />;
}
