//! A release in a grid: cover, title, artist and price, linking to the release page.
import type { Schemas } from "../api/client";
import { Link } from "../lib/router";
import { describePrice } from "./price";

export function Artwork({ url, title, size }: { url: string | null | undefined; title: string; size: "small" | "large" }) {
  if (url == null) {
    return (
      <div class={`artwork artwork-${size} artwork-placeholder`} aria-hidden="true">
        {title.slice(0, 1).toUpperCase()}
      </div>
    );
  }
  return <img class={`artwork artwork-${size}`} src={url} alt={`Cover of ${title}`} loading="lazy" />;
}

export function ReleaseGrid({ releases }: { releases: readonly Schemas["ReleaseSummaryView"][] }) {
  if (releases.length === 0) return <p class="muted">No releases yet.</p>;
  return (
    <ul class="release-grid">
      {releases.map((release) => (
        <li key={release.id} class="release-card">
          <Artwork url={release.artwork_url} title={release.title} size="small" />
          <Link href={`/releases/${release.id}`} class="release-title">
            {release.title}
          </Link>
          <Link href={`/artists/${release.artist_id}`} class="muted">
            {release.artist_name}
          </Link>
          <span class="price">{describePrice(release.price)}</span>
        </li>
      ))}
    </ul>
  );
}
