//! A tag's page: the published releases carrying it, newest first, paged with the API's cursor;
//! and the most used tags, to wander on.
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { PagedReleases } from "../catalog/paged-releases";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { TagLinks } from "./tag-links";

const PAGE_SIZE = 24;
const OTHER_TAGS_SHOWN = 20;

function fetchPage(tag: string, cursor: string | undefined) {
  return dataOf(session.api.GET("/api/v1/catalog/tags/{tag}", { params: { path: { tag }, query: { limit: PAGE_SIZE, cursor } } }));
}

export function TagPage({ tag }: { tag: string }) {
  const [firstPage] = useLoad(() => fetchPage(tag, undefined), [tag]);
  const [mostUsed] = useLoad(() => dataOf(session.api.GET("/api/v1/catalog/tags", { params: { query: { limit: OTHER_TAGS_SHOWN } } })), []);
  return (
    <section>
      <h1>
        <span class="muted">Tag:</span> {tag}
      </h1>
      <LoadedView loaded={firstPage}>{(page) => <PagedReleases key={tag} first={page} fetchPage={(cursor) => fetchPage(tag, cursor)} empty="No published release carries this tag yet." />}</LoadedView>
      <h2>Other tags</h2>
      <LoadedView loaded={mostUsed}>{(list) => <TagLinks tags={list.tags.map((count) => count.tag).filter((other) => other !== tag)} />}</LoadedView>
    </section>
  );
}
