//! A release: artwork, the tracklist to play or queue, adding the release or single tracks to the
//! cart, and getting a track with a download credit. What the signed-in listener owns (`owned`)
//! says "In your library" and offers the download instead of a purchase.
import { TagLinks } from "../tags/tag-links";
import { dataOf, type Schemas } from "../api/client";
import { addItem } from "../cart/cart";
import { LoadedView } from "../components/loading";
import { RedeemButton, useCreditRefresh } from "../installer/redeem";
import { formatDuration } from "../lib/duration";
import { Link } from "../lib/router";
import { useObservable } from "../lib/store";
import { useLoad } from "../lib/use-load";
import { Icon } from "../player/icons";
import { player, type QueueEntry } from "../player/player-store";
import { Download } from "../library/download-form";
import { previewReason } from "../installer/free-tier";
import { cart, session, useCart, useFreeTier, useSession } from "../state";
import { describePrice } from "./price";
import { Artwork } from "./release-card";

/** The queue for the release; `canPlayFull(track)` says what the page knows about each track's full stream. */
function queueEntries(detail: Schemas["ReleaseDetailView"], canPlayFull: (track: Schemas["TrackView"]) => boolean | undefined): QueueEntry[] {
  return detail.tracks.map((track) => ({
    track_id: track.id,
    title: track.title,
    artist_name: detail.artist_name,
    duration_ms: track.duration_ms,
    full: canPlayFull(track),
    album: detail.release.title ?? undefined,
    artwork_url: detail.release.artwork_url,
  }));
}

function AddToCart({ id, kind, title, artistName, price }: { id: string; kind: "release" | "track"; title: string; artistName: string; price: Schemas["PriceView"] }) {
  const items = useCart();
  const inCart = items.some((item) => item.item_id === id);
  return (
    <button
      type="button"
      class={kind === "track" ? "button-secondary" : undefined}
      disabled={inCart}
      onClick={() => cart.set(addItem(cart.value, { item_kind: kind, item_id: id, title, artist_name: artistName, price }))}
    >
      {/* The visible words start the accessible name; the hidden part says which item. */}
      {inCart ? "In cart" : kind === "release" ? `Buy ${describePrice(price)}` : describePrice(price)}
      <span class="visually-hidden">{inCart || kind === "release" ? ` — ${title}` : ` — buy ${title}`}</span>
    </button>
  );
}

/** Where owned music is: a link to the library, named after the item for screen readers. */
function InLibrary({ title }: { title: string }) {
  return (
    <Link href="/library" class="status-pill status-good in-library">
      In your library<span class="visually-hidden"> — {title}</span>
    </Link>
  );
}

function Release({ detail }: { detail: Schemas["ReleaseDetailView"] }) {
  const { release, artist_name: artistName, tracks } = detail;
  const title = release.title ?? "Untitled";
  const sessionState = useSession();
  const currentFreeTier = useFreeTier();
  const playerState = useObservable(player.state);
  const nowPlaying = playerState.queue[playerState.index]?.track_id ?? null;
  const signedIn = sessionState.status === "signed_in";
  // Only a listener's rights are fully known here (an artist may be playing their own music).
  const knownListener = signedIn && sessionState.me.role === "listener";
  const facts = (track: Schemas["TrackView"]) => ({ signedIn, owned: track.owned ?? undefined, ownMusic: !knownListener, freeTier: currentFreeTier });
  const entries = queueEntries(detail, (track) => (knownListener && previewReason(facts(track)) !== null ? false : undefined));
  // Said once, above the tracks, when some of them will play only as previews.
  const note = tracks.map((track) => previewReason(facts(track))).find((reason) => reason !== null) ?? null;
  return (
    <article class="release">
      <div class="release-header">
        <Artwork url={release.artwork_url} title={title} size="large" />
        <div>
          <p class="muted">{release.kind.toUpperCase()}</p>
          <h1>{title}</h1>
          <p>
            by <Link href={`/artists/${release.artist_id}`}>{artistName}</Link>
            {release.release_date == null ? null : <span class="muted"> · {release.release_date}</span>}
          </p>
          {release.credits === "" ? null : <p class="muted">{release.credits}</p>}
          <TagLinks tags={detail.tags} />
          <p class="release-actions">
            {release.owned === true ? <InLibrary title={title} /> : release.price == null ? null : <AddToCart id={release.id} kind="release" title={title} artistName={artistName} price={release.price} />}
            <button type="button" class="button-secondary" disabled={entries.length === 0} onClick={() => player.playNow(entries)}>
              Play all
            </button>
          </p>
          {release.owned === true ? <Download item={{ kind: "release", id: release.id }} title={title} /> : null}
        </div>
      </div>
      <h2>Tracks</h2>
      {note === null ? null : (
        <p class="preview-note muted" data-testid="preview-note">
          {note} {signedIn ? <Link href="/free-music">Free music with the agent</Link> : <Link href="/signin">Sign in</Link>}
        </p>
      )}
      <ol class="tracklist">
        {tracks.map((track, index) => (
          <li key={track.id} class={track.id === nowPlaying ? "now-playing" : undefined} aria-current={track.id === nowPlaying ? "true" : undefined}>
            <button type="button" class="button-secondary play-button" aria-label={`Play ${track.title}`} onClick={() => player.playNow(entries, index)}>
              <Icon name="play" />
            </button>
            <span class="track-title">
              {track.title}
              {track.id === nowPlaying ? <span class="now-playing-marker"> · Now playing</span> : null}
            </span>
            <span class="muted">{formatDuration(track.duration_ms)}</span>
            <button type="button" class="button-secondary" aria-label={`Add ${track.title} to the queue`} onClick={() => player.enqueue(entries[index]!)}>
              Queue
            </button>
            {track.owned === true ? (
              <InLibrary title={track.title} />
            ) : (
              <>
                {track.price == null ? null : <AddToCart id={track.id} kind="track" title={track.title} artistName={artistName} price={track.price} />}
                <RedeemButton trackId={track.id} title={track.title} />
              </>
            )}
          </li>
        ))}
      </ol>
    </article>
  );
}

export function ReleasePage({ releaseId }: { releaseId: string }) {
  useCreditRefresh();
  // Signed in, the page says what the caller owns: load it again when the account changes.
  const sessionState = useSession();
  const account = sessionState.status === "signed_in" ? sessionState.me.id : sessionState.status;
  const [detail] = useLoad(() => dataOf(session.api.GET("/api/v1/catalog/releases/{id}", { params: { path: { id: releaseId } } })), [releaseId, account]);
  return <LoadedView loaded={detail}>{(loaded) => <Release detail={loaded} />}</LoadedView>;
}
