//! A tag's page: the published releases carrying it, newest first, paged with the API's cursor;
//! and the most used tags, to wander on.
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { ReleaseGrid } from "../catalog/release-card";
import { messageOf } from "../lib/errors";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { TagLinks } from "./tag-links";

const PAGE_SIZE = 24;
const OTHER_TAGS_SHOWN = 20;

function fetchPage(tag: string, cursor: string | undefined) {
  return dataOf(session.api.GET("/api/v1/catalog/tags/{tag}", { params: { path: { tag }, query: { limit: PAGE_SIZE, cursor } } }));
}

function TaggedReleases({ tag, first }: { tag: string; first: Schemas["ReleasePageView"] }) {
  const [releases, setReleases] = useState(first.releases);
  const [nextCursor, setNextCursor] = useState(first.next_cursor ?? null);
  const [error, setError] = useState<string | null>(null);
  const loadMore = async () => {
    if (nextCursor === null) return;
    try {
      const page = await fetchPage(tag, nextCursor);
      setReleases([...releases, ...page.releases]);
      setNextCursor(page.next_cursor ?? null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <>
      {releases.length === 0 ? <p class="muted">No published release carries this tag yet.</p> : <ReleaseGrid releases={releases} />}
      {error === null ? null : (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {nextCursor === null ? null : (
        <button type="button" class="button-secondary" onClick={loadMore}>
          More releases
        </button>
      )}
    </>
  );
}

export function TagPage({ tag }: { tag: string }) {
  const [firstPage] = useLoad(() => fetchPage(tag, undefined), [tag]);
  const [mostUsed] = useLoad(() => dataOf(session.api.GET("/api/v1/catalog/tags", { params: { query: { limit: OTHER_TAGS_SHOWN } } })), []);
  return (
    <section>
      <h1>
        <span class="muted">Tag:</span> {tag}
      </h1>
      <LoadedView loaded={firstPage}>{(page) => <TaggedReleases key={tag} tag={tag} first={page} />}</LoadedView>
      <h2>Other tags</h2>
      <LoadedView loaded={mostUsed}>{(list) => <TagLinks tags={list.tags.map((count) => count.tag).filter((other) => other !== tag)} />}</LoadedView>
    </section>
  );
}
