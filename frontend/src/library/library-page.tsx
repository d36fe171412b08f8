//! What the listener owns, each item downloadable in a chosen format through a signed, expiring
//! link; releases link to their page, where every track plays in full.
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { Download } from "./download-form";

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
