//! Search the catalog.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";

export function SearchPage(_props: { query: string }) {
  return <ComingSoon feature={FEATURES.search} />;
}
