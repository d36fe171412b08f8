//! Spending a download credit on a track: the "Get with a credit" button (release pages, the
//! installer page's track finder), the finder itself, and the tracks already redeemed.
import { useEffect, useRef, useState } from "preact/hooks";
import { dataOf } from "../api/client";
import { QUERY_LENGTH_MAX } from "../catalog/search-page";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { formatMinute } from "../lib/time";
import { useLoad } from "../lib/use-load";
import { credits, freeTier, session, useCredits, useSession } from "../state";
import type { RedeemOutcome } from "./credits";

/** Loads the signed-in caller's credit count and free tier into the shared stores when a page that offers credits or plays opens. */
export function useCreditRefresh() {
  const signedIn = useSession().status === "signed_in";
  useEffect(() => {
    if (!signedIn) return;
    let current = true;
    dataOf(session.api.GET("/api/v1/installer/status")).then(
      (status) => {
        if (!current) return;
        credits.set(status.credits_available);
        freeTier.set(status.free_tier.active);
      },
      // Without a count the buttons stay hidden; the page itself still works.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [signedIn]);
}

/** "Get with a credit" for one track, shown while the caller has credits; then where the track went, or why not. */
export function RedeemButton({ trackId, title, onRedeemed }: { trackId: string; title: string; onRedeemed?: () => void }) {
  const available = useCredits();
  const [outcome, setOutcome] = useState<RedeemOutcome | null>(null);
  const [busy, setBusy] = useState(false);
  // The clicked button gives way to the link; keyboard users continue there.
  const libraryLink = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (outcome?.ok) libraryLink.current?.querySelector("a")?.focus();
  }, [outcome]);
  const redeem = async () => {
    setBusy(true);
    const result = await credits.redeem(trackId, (track_id) => session.api.POST("/api/v1/installer/redemptions", { body: { track_id } }));
    setBusy(false);
    setOutcome(result);
    if (result.ok) onRedeemed?.();
  };
  if (outcome?.ok) {
    return (
      <span class="redeemed" data-testid="redeemed" ref={libraryLink}>
        <Link href="/library">
          In your library<span class="visually-hidden"> — {title}</span>
        </Link>
      </span>
    );
  }
  return (
    <>
      {available === null || available <= 0 ? null : (
        <button type="button" class="button-secondary" disabled={busy} onClick={redeem}>
          Get with a credit<span class="visually-hidden"> — {title}</span>
        </button>
      )}
      {outcome === null ? null : (
        <span class="error" role="alert">
          {outcome.message}
        </span>
      )}
    </>
  );
}

function TrackFinder({ onRedeemed }: { onRedeemed: (title: string) => void }) {
  const [query, setQuery] = useState("");
  const [results] = useLoad(
    () => (query === "" ? Promise.resolve(null) : dataOf(session.api.GET("/api/v1/catalog/search", { params: { query: { q: query } } }))),
    [query],
  );
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    setQuery(String(new FormData(event.currentTarget as HTMLFormElement).get("credit-q") ?? "").trim());
  };
  return (
    <>
      <form role="search" aria-label="Find a track for a credit" class="search-form" onSubmit={onSubmit}>
        <label for="credit-q" class="visually-hidden">
          Track, release or artist
        </label>
        <input id="credit-q" name="credit-q" type="search" maxLength={QUERY_LENGTH_MAX} placeholder="Track, release or artist" />
        <button type="submit">Find</button>
      </form>
      <LoadedView loaded={results}>
        {(found) =>
          found === null ? null : found.tracks.length === 0 ? (
            <p>No track matches “{query}”.</p>
          ) : (
            <ul class="track-hits" aria-label="Tracks found">
              {found.tracks.map((track) => (
                <li key={track.track_id}>
                  <span class="track-title">
                    <Link href={`/releases/${track.release_id}`}>{track.title}</Link>{" "}
                    <span class="muted">
                      on {track.release_title} by {track.artist_name}
                    </span>
                  </span>
                  <RedeemButton trackId={track.track_id} title={track.title} onRedeemed={() => onRedeemed(track.title)} />
                </li>
              ))}
            </ul>
          )
        }
      </LoadedView>
    </>
  );
}

async function loadRedeemed() {
  const [redemptions, library] = await Promise.all([dataOf(session.api.GET("/api/v1/installer/redemptions")), dataOf(session.api.GET("/api/v1/library"))]);
  const titles = new Map(library.map((entry) => [entry.item.id, entry.title] as const));
  return redemptions.map((redemption) => ({ ...redemption, title: titles.get(redemption.track_id) ?? "A track no longer in the store" }));
}

/** The installer page's credit section: spend one on a track found by search, and what was spent. */
export function RedeemCredits() {
  const available = useCredits();
  const [redeemed, reloadRedeemed] = useLoad(loadRedeemed, []);
  // Said here, not only at the track: spending the last credit takes the finder away.
  const [lastRedeemed, setLastRedeemed] = useState<string | null>(null);
  const onRedeemed = (title: string) => {
    setLastRedeemed(title);
    reloadRedeemed();
  };
  return (
    <>
      <p role="status" data-testid="redemption-status" class="redeemed">
        {lastRedeemed === null ? null : (
          <>
            {lastRedeemed} is in your library. <Link href="/library">Download it there</Link>.
          </>
        )}
      </p>
      {available === null ? null : available > 0 ? (
        <>
          <p>
            You have {available} download {available === 1 ? "credit" : "credits"}: each one gets a track to keep, in any format, and counts for its artist like
            several plays.
          </p>
          <TrackFinder onRedeemed={onRedeemed} />
        </>
      ) : (
        <p>You have no download credits to spend. The agent earns them as it shows Megabox ads.</p>
      )}
      <LoadedView loaded={redeemed}>
        {(list) =>
          list.length === 0 ? null : (
            <>
              <h3>Redeemed with credits</h3>
              <ul class="library" aria-label="Redeemed with credits">
                {list.map((redemption) => (
                  <li key={redemption.redemption_id}>
                    <Link href="/library">{redemption.title}</Link>
                    <span class="muted">{formatMinute(redemption.redeemed_at)} UTC</span>
                  </li>
                ))}
              </ul>
            </>
          )
        }
      </LoadedView>
    </>
  );
}
