//! The artist's public profile: the name and bio listeners see on the artist page.
import { useState } from "preact/hooks";
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { messageOf } from "../lib/errors";

/** Mirrors the catalog's limits so people learn them while typing; the server still decides. */
const ARTIST_NAME_CHARACTERS_MAX = 100;
const BIO_CHARACTERS_MAX = 5000;

export function ProfileForm() {
  const [profile, reload] = useLoad(() => dataOf(session.api.GET("/api/v1/artist/profile")), []);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    try {
      await dataOf(session.api.PATCH("/api/v1/artist/profile", { body: { name: String(form.get("artist_name")), bio: String(form.get("bio")) } }));
      setMessage({ error: false, text: "Saved." });
      reload();
    } catch (failure) {
      setMessage({ error: true, text: messageOf(failure) });
    }
  };
  return (
    <LoadedView loaded={profile}>
      {(artist) => (
        <form onSubmit={onSubmit} aria-label="Artist profile" class="release-form">
          <div class="field">
            <label for="artist_name">Artist name</label>
            <input id="artist_name" name="artist_name" defaultValue={artist.name} required maxLength={ARTIST_NAME_CHARACTERS_MAX} />
          </div>
          <div class="field">
            <label for="bio">Bio</label>
            <textarea id="bio" name="bio" rows={4} defaultValue={artist.bio} maxLength={BIO_CHARACTERS_MAX} />
          </div>
          <p class={message?.error ? "error" : "muted"} role="status">
            {message?.text}
          </p>
          <p class="release-actions">
            <button type="submit">Save profile</button>
            <Link href={`/artists/${artist.id}`}>See your public page</Link>
          </p>
        </form>
      )}
    </LoadedView>
  );
}
