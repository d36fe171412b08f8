//! A grid of releases that grows a page at a time with the API's cursor ("More releases"): the
//! catalog's newest releases and a tag's releases page the same way.
import { useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { messageOf } from "../lib/errors";
import { ReleaseGrid } from "./release-card";

type ReleasePage = Schemas["ReleasePageView"];

export function PagedReleases({ first, fetchPage, empty }: { first: ReleasePage; fetchPage: (cursor: string) => Promise<ReleasePage>; empty?: string }) {
  const [releases, setReleases] = useState(first.releases);
  const [nextCursor, setNextCursor] = useState(first.next_cursor ?? null);
  const [error, setError] = useState<string | null>(null);
  const loadMore = async () => {
    if (nextCursor === null) return;
    try {
      const page = await fetchPage(nextCursor);
      setReleases([...releases, ...page.releases]);
      setNextCursor(page.next_cursor ?? null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <>
      {releases.length === 0 && empty !== undefined ? <p class="muted">{empty}</p> : <ReleaseGrid releases={releases} />}
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
