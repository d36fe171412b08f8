//! What the listener owns, each item downloadable in a chosen format through a signed, expiring
//! link; releases link to their page, where every track plays in full.
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { messageOf } from "../lib/errors";

/** The formats the server makes (see `DownloadRequest.format`), with the words people know them by. */
const DOWNLOAD_FORMATS = [
  ["flac", "FLAC (lossless)"],
  ["mp3-320", "MP3 320 kbps"],
  ["mp3-v0", "MP3 V0"],
  ["original", "Original upload"],
] as const;

function Download({ item, title }: { item: Schemas["LibraryItemView"]["item"]; title: string }) {
  const [error, setError] = useState<string | null>(null);
  const selectId = `format-${item.id}`;
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const format = String(new FormData(event.currentTarget as HTMLFormElement).get("format"));
    try {
      const link = await dataOf(session.api.POST("/api/v1/library/{item}/download", { params: { path: { item: item.id } }, body: { format } }));
      setError(null);
      // The link is signed and answers with an attachment, so the browser saves it and stays here.
      window.location.assign(link.url);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <form class="download-form" onSubmit={onSubmit} aria-label={`Download ${title}`}>
      <label for={selectId}>Format</label>
      <select id={selectId} name="format">
        {DOWNLOAD_FORMATS.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <button type="submit" class="button-secondary">
        Download<span class="visually-hidden"> {title}</span>
      </button>
      {error === null ? null : <span class="error">{error}</span>}
    </form>
  );
}

function Owned({ entry }: { entry: Schemas["LibraryItemView"] }) {
  const title = entry.title ?? `A ${entry.item.kind} no longer in the store`;
  return (
    <li class="card">
      {entry.item.kind === "release" ? <Link href={`/releases/${entry.item.id}`}>{title}</Link> : <span>{title}</span>}
      <span class="muted">
        {entry.item.kind === "release" ? "Release" : "Track"} · {entry.redemption_id == null ? "bought" : "redeemed with a credit"} {entry.granted_at.slice(0, 10)}
      </span>
      <Download item={entry.item} title={title} />
    </li>
  );
}

export function LibraryPage() {
  const [library] = useLoad(() => dataOf(session.api.GET("/api/v1/library")), []);
  return (
    <section>
      <h1>Library</h1>
      <LoadedView loaded={library}>
        {(items) =>
          items.length === 0 ? (
            <p>
              Nothing here yet. <Link href="/">Find something to buy</Link>.
            </p>
          ) : (
            <ul class="library" aria-label="Your music">
              {items.map((entry) => (
                <Owned key={`${entry.item.kind}-${entry.item.id}`} entry={entry} />
              ))}
            </ul>
          )
        }
      </LoadedView>
    </section>
  );
}
