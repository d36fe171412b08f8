//! Starting a release: pick its kind (the title can come from the first file's tags), then drop
//! files into it on the release editor.
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { ErrorMessage } from "../components/form";
import { navigate } from "../lib/router";
import { session } from "../state";
import { messageOf } from "../lib/errors";

export function UploadPage() {
  const [error, setError] = useState<string | null>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const title = String(form.get("title") ?? "").trim();
    try {
      const release = await dataOf(
        session.api.POST("/api/v1/releases", { body: { kind: form.get("kind") as Schemas["ReleaseKindView"], title: title === "" ? null : title } }),
      );
      navigate(`/artist/releases/${release.id}`);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <section class="narrow">
      <h1>New release</h1>
      <form onSubmit={onSubmit}>
        <fieldset>
          <legend>Kind</legend>
          {(["album", "ep", "single"] as const).map((kind, index) => (
            <label class="choice" key={kind}>
              <input type="radio" name="kind" value={kind} checked={index === 0} /> {kind === "ep" ? "EP" : kind[0]!.toUpperCase() + kind.slice(1)}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="title">Title</label>
          <input id="title" name="title" aria-describedby="title-hint" />
          <p class="hint" id="title-hint">
            Optional: the album tag of your first file fills it in.
          </p>
        </div>
        <ErrorMessage message={error} />
        <button type="submit">Start the release</button>
      </form>
    </section>
  );
}
