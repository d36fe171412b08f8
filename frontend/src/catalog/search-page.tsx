//! Search artists, releases and tracks; the query lives in the address (?q=) so results can be shared.
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link, navigate } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { ReleaseGrid } from "./release-card";

/** The server rejects longer queries; stop people typing them. */
export const QUERY_LENGTH_MAX = 200;

function Results({ query }: { query: string }) {
  const [results] = useLoad(() => dataOf(session.api.GET("/api/v1/catalog/search", { params: { query: { q: query } } })), [query]);
  return (
    <LoadedView loaded={results}>
      {(found) =>
        found.artists.length + found.releases.length + found.tracks.length === 0 ? (
          <p>Nothing matches “{query}”.</p>
        ) : (
          <>
            {found.artists.length === 0 ? null : (
              <section aria-labelledby="artist-results">
                <h2 id="artist-results">Artists</h2>
                <ul>
                  {found.artists.map((artist) => (
                    <li key={artist.id}>
                      <Link href={`/artists/${artist.id}`}>{artist.name}</Link>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            {found.releases.length === 0 ? null : (
              <section aria-labelledby="release-results">
                <h2 id="release-results">Releases</h2>
                <ReleaseGrid releases={found.releases} />
              </section>
            )}
            {found.tracks.length === 0 ? null : (
              <section aria-labelledby="track-results">
                <h2 id="track-results">Tracks</h2>
                <ul>
                  {found.tracks.map((track) => (
                    <li key={track.track_id}>
                      <Link href={`/releases/${track.release_id}`}>{track.title}</Link> <span class="muted">
                        on {track.release_title} by {track.artist_name}
                      </span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
          </>
        )
      }
    </LoadedView>
  );
}

export function SearchPage({ query }: { query: string }) {
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    const typed = String(new FormData(event.currentTarget as HTMLFormElement).get("q") ?? "").trim();
    navigate(typed === "" ? "/search" : `/search?q=${encodeURIComponent(typed)}`);
  };
  return (
    <section>
      <h1>Search</h1>
      <form role="search" class="search-form" onSubmit={onSubmit}>
        <label for="q" class="visually-hidden">
          Search artists, releases and tracks
        </label>
        <input id="q" name="q" type="search" defaultValue={query} key={query} maxLength={QUERY_LENGTH_MAX} placeholder="Artists, releases, tracks" />
        <button type="submit">Search</button>
      </form>
      {query === "" ? null : <Results query={query} />}
    </section>
  );
}
