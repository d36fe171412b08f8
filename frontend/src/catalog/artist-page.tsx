//! An artist and their published releases.
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { ReleaseGrid } from "./release-card";

export function ArtistPage({ artistId }: { artistId: string }) {
  const [profile] = useLoad(() => dataOf(session.api.GET("/api/v1/catalog/artists/{id}", { params: { path: { id: artistId } } })), [artistId]);
  return (
    <LoadedView loaded={profile}>
      {({ artist, releases }) => (
        <section>
          <h1>{artist.name}</h1>
          {artist.bio === "" ? null : <p class="bio">{artist.bio}</p>}
          <h2>Releases</h2>
          <ReleaseGrid releases={releases} />
        </section>
      )}
    </LoadedView>
  );
}
