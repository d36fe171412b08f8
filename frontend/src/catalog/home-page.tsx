//! The front page: what Megabox is, and the newest releases.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";
import { Link } from "../lib/router";
import { useSession } from "../state";

export function HomePage() {
  const state = useSession();
  return (
    <>
      <section class="hero">
        <h1>Music where artists keep 90%</h1>
        <p>Buy downloads in the format you want, pay what you want above the artist's minimum, or stream for free when the Megabox agent is running.</p>
        {state.status === "anonymous" ? (
          <p class="hero-actions">
            <Link href="/signup" class="button">
              Join Megabox
            </Link>
            <Link href="/search" class="button-secondary">
              Search the catalog
            </Link>
          </p>
        ) : null}
      </section>
      <ComingSoon feature={FEATURES.browse} heading="h2" />
    </>
  );
}
