//! What the listener owns, each item downloadable in a chosen format through a signed, expiring
//! link. The library lists items by id, so their titles come from the orders that bought them;
//! releases link to their page, where every track plays in full.
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session } from "../state";

interface OwnedItem {
  entry: Schemas["LibraryItemView"];
  title: string;
}

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
      setError(failure instanceof Error ? failure.message : String(failure));
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

async function loadLibrary(): Promise<OwnedItem[]> {
  const entries = await dataOf(session.api.GET("/api/v1/library"));
  const orderIds = [...new Set(entries.map((entry) => entry.order_id))];
  const orders = await Promise.all(orderIds.map((id) => dataOf(session.api.GET("/api/v1/orders/{id}", { params: { path: { id } } }))));
  const titles = new Map(orders.flatMap((order) => order.lines.map((line) => [line.item.id, line.title] as const)));
  return entries.map((entry) => ({ entry, title: titles.get(entry.item.id) ?? `${entry.item.kind} ${entry.item.id}` }));
}

export function LibraryPage() {
  const [library] = useLoad(loadLibrary, []);
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
                {items.map(({ entry, title }) => (
                  <li key={`${entry.item.kind}-${entry.item.id}`} class="card">
                    {entry.item.kind === "release" ? <Link href={`/releases/${entry.item.id}`}>{title}</Link> : <span>{title}</span>}
                    <span class="muted">
                      {entry.item.kind === "release" ? "Release" : "Track"} · bought {entry.granted_at.slice(0, 10)}
                    </span>
                    <Download item={entry.item} title={title} />
                  </li>
                ))}
              </ul>
            )
          }
        </LoadedView>
    </section>
  );
}
