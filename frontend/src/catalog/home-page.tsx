//! The front page: what Megabox is, and the newest releases (paged with the API's cursor).
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session, useSession } from "../state";
import { PagedReleases } from "./paged-releases";

const PAGE_SIZE = 24;

function fetchPage(cursor: string | undefined) {
  return dataOf(session.api.GET("/api/v1/catalog/releases", { params: { query: { limit: PAGE_SIZE, cursor } } }));
}

export function HomePage() {
  const state = useSession();
  const [firstPage] = useLoad(() => fetchPage(undefined), []);
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
      <section aria-labelledby="new-releases">
        <h2 id="new-releases">New releases</h2>
        <LoadedView loaded={firstPage}>{(page) => <PagedReleases first={page} fetchPage={fetchPage} />}</LoadedView>
      </section>
    </>
  );
}
