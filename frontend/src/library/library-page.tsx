//! What the listener owns. The library lists items by id, so their titles come from the orders
//! that bought them; releases link to their page, where every track plays in full.
import { hasEndpoint } from "../api/availability";
import { dataOf, type Schemas } from "../api/client";
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session } from "../state";

interface OwnedItem {
  entry: Schemas["LibraryItemView"];
  title: string;
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
    <>
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
                  </li>
                ))}
              </ul>
            )
          }
        </LoadedView>
      </section>
      {FEATURES.downloads.endpoints.every(hasEndpoint) ? null : <ComingSoon feature={FEATURES.downloads} heading="h2" />}
    </>
  );
}
