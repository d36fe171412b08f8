//! Editing a draft release: drop audio files (uploaded with per-file progress and errors), then
//! fix titles, order, credits and prices, and publish.
import { useMemo, useRef, useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { formatDuration } from "../lib/duration";
import { Link } from "../lib/router";
import { useObservable } from "../lib/store";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import type { PriceFormResult } from "./price-form";
import { PriceEditor } from "./price-editor";
import { progressPercent } from "./upload";
import { UploadQueue, type UploadEntry } from "./upload-queue";
import { messageOf } from "../lib/errors";

/** Mirror the catalog's limits so people learn them while typing; the server still decides. */
const TITLE_CHARACTERS_MAX = 200;
const CREDITS_CHARACTERS_MAX = 5000;

/** What the file picker offers; the server sniffs the content and decides. */
const ACCEPTED_FILES = "audio/*,.flac,.wav,.aiff,.aif,.mp3,.ogg,.opus,.m4a";

const STATUS_TEXT: Record<UploadEntry["status"], string> = {
  queued: "Waiting",
  uploading: "Uploading",
  analysing: "Reading tags, loudness and waveform…",
  done: "Added",
  failed: "Failed",
};

function DropZone({ onFiles }: { onFiles: (files: FileList) => void }) {
  const [over, setOver] = useState(false);
  return (
    <div
      class={over ? "drop-zone drop-zone-over" : "drop-zone"}
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        if (event.dataTransfer?.files.length) onFiles(event.dataTransfer.files);
      }}
    >
      <p>Drop audio files here (FLAC, WAV, AIFF, MP3, Ogg, M4A), or</p>
      <label class="button" for="audio-files">
        Choose files
      </label>
      <input
        id="audio-files"
        class="visually-hidden"
        type="file"
        multiple
        accept={ACCEPTED_FILES}
        onChange={(event) => {
          const input = event.currentTarget as HTMLInputElement;
          if (input.files?.length) onFiles(input.files);
          input.value = "";
        }}
      />
    </div>
  );
}

function UploadList({ queue }: { queue: UploadQueue }) {
  const entries = useObservable(queue.entries);
  if (entries.length === 0) return null;
  return (
    <ul class="upload-list" aria-label="Uploads">
      {entries.map((entry) => (
        <li key={entry.key} class={`upload upload-${entry.status}`}>
          <span class="upload-name">{entry.file_name}</span>
          <progress max={100} value={progressPercent(entry.loaded_bytes, entry.size_bytes)} aria-label={`${entry.file_name} upload progress`} />
          <span class="upload-status" aria-live="polite">
            {STATUS_TEXT[entry.status]}
            {entry.status === "uploading" ? ` ${progressPercent(entry.loaded_bytes, entry.size_bytes)}%` : ""}
          </span>
          {entry.error === null ? null : <span class="error">{entry.error}</span>}
        </li>
      ))}
    </ul>
  );
}

function ReleaseForm({ release, onSaved }: { release: Schemas["ReleaseView"]; onSaved: () => void }) {
  const [price, setPrice] = useState<PriceFormResult>({ price: release.price ?? null });
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    if ("error" in price) return;
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const releaseDate = String(form.get("release_date") ?? "");
    try {
      await dataOf(
        session.api.PATCH("/api/v1/releases/{id}", {
          params: { path: { id: release.id } },
          body: {
            title: String(form.get("title") ?? ""),
            kind: form.get("kind") as Schemas["ReleaseKindView"],
            credits: String(form.get("credits") ?? ""),
            release_date: releaseDate === "" ? null : releaseDate,
            price: price.price,
          },
        }),
      );
      setMessage({ error: false, text: "Saved." });
      onSaved();
    } catch (failure) {
      setMessage({ error: true, text: messageOf(failure) });
    }
  };
  return (
    <form onSubmit={onSubmit} class="release-form" aria-label="Release details">
      <div class="field">
        <label for="title">Title</label>
        <input id="title" name="title" defaultValue={release.title ?? ""} required maxLength={TITLE_CHARACTERS_MAX} />
      </div>
      <div class="field field-inline">
        <label for="kind">Kind</label>
        <select id="kind" name="kind" defaultValue={release.kind}>
          <option value="album">Album</option>
          <option value="ep">EP</option>
          <option value="single">Single</option>
        </select>
      </div>
      <div class="field field-inline">
        <label for="release_date">Release date</label>
        <input id="release_date" name="release_date" type="date" defaultValue={release.release_date ?? ""} />
      </div>
      <div class="field">
        <label for="credits">Credits</label>
        <textarea id="credits" name="credits" rows={3} defaultValue={release.credits} maxLength={CREDITS_CHARACTERS_MAX} />
      </div>
      <PriceEditor id="release-price" legend="Price of the whole release" initial={release.price} onChange={setPrice} />
      <p class={message?.error ? "error" : "muted"} role="status">
        {message?.text}
      </p>
      <button type="submit" disabled={"error" in price}>
        Save release
      </button>
    </form>
  );
}

function TrackRow({ track, index, count, onMove, onSaved }: { track: Schemas["TrackView"]; index: number; count: number; onMove: (from: number, to: number) => void; onSaved: () => void }) {
  const [price, setPrice] = useState<PriceFormResult>({ price: track.price ?? null });
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    if ("error" in price) return;
    const title = String(new FormData(event.currentTarget as HTMLFormElement).get("title") ?? "");
    try {
      await dataOf(session.api.PATCH("/api/v1/tracks/{id}", { params: { path: { id: track.id } }, body: { title, price: price.price } }));
      setMessage({ error: false, text: "Saved." });
      onSaved();
    } catch (failure) {
      setMessage({ error: true, text: messageOf(failure) });
    }
  };
  return (
    <li class="track-row">
      <form onSubmit={onSubmit} aria-label={`Track ${index + 1}`}>
        <div class="track-line">
          <span class="track-position">{index + 1}</span>
          <div class="field">
            <label for={`track-${track.id}`} class="visually-hidden">
              Title of track {index + 1}
            </label>
            <input id={`track-${track.id}`} name="title" defaultValue={track.title} required maxLength={TITLE_CHARACTERS_MAX} />
          </div>
          <span class="muted">{formatDuration(track.duration_ms)}</span>
          <span class="track-move">
            <button type="button" class="button-secondary" aria-label={`Move ${track.title} up`} disabled={index === 0} onClick={() => onMove(index, index - 1)}>
              ↑
            </button>
            <button type="button" class="button-secondary" aria-label={`Move ${track.title} down`} disabled={index + 1 === count} onClick={() => onMove(index, index + 1)}>
              ↓
            </button>
          </span>
        </div>
        <div class="track-line track-price">
          <PriceEditor id={`track-price-${track.id}`} legend={`Price of track ${index + 1} on its own`} initial={track.price} onChange={setPrice} />
          <button type="submit" class="button-secondary" disabled={"error" in price}>
            Save track
          </button>
          <span class={message?.error ? "error" : "muted"} role="status">
            {message?.text}
          </span>
        </div>
      </form>
    </li>
  );
}

function Editor({ detail, reload }: { detail: Schemas["ReleaseDetailView"]; reload: () => void }) {
  const { release, tracks } = detail;
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  const queue = useMemo(() => new UploadQueue(session, `/api/v1/releases/${encodeURIComponent(release.id)}/tracks`, () => reloadRef.current()), [release.id]);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setError(null);
      reload();
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  const move = (from: number, to: number) => {
    const order = tracks.map((track) => track.id);
    const [moved] = order.splice(from, 1);
    order.splice(to, 0, moved!);
    void run(() => dataOf(session.api.PUT("/api/v1/releases/{id}/track-order", { params: { path: { id: release.id } }, body: { track_ids: order } })));
  };
  const publish = () => run(() => dataOf(session.api.POST("/api/v1/releases/{id}/publish", { params: { path: { id: release.id } } })));
  const unpublish = () => run(() => dataOf(session.api.POST("/api/v1/releases/{id}/unpublish", { params: { path: { id: release.id } } })));

  return (
    <section>
      <p>
        <Link href="/artist">← Your releases</Link>
      </p>
      <h1>{release.title ?? "New release"}</h1>
      <p class={release.state === "published" ? "status-pill status-good" : "status-pill"} data-testid="release-state">
        {release.state}
      </p>
      {release.state === "published" ? (
        <p>
          <Link href={`/releases/${release.id}`}>See it in the store</Link>
        </p>
      ) : null}
      <h2>Tracks</h2>
      <DropZone onFiles={(files) => queue.add(Array.from(files))} />
      <UploadList queue={queue} />
      {tracks.length === 0 ? (
        <p class="muted">No tracks yet.</p>
      ) : (
        <ol class="track-editor">
          {tracks.map((track, index) => (
            <TrackRow key={track.id} track={track} index={index} count={tracks.length} onMove={move} onSaved={reload} />
          ))}
        </ol>
      )}
      <h2>Details and price</h2>
      <ReleaseForm key={`${release.id}-${release.title ?? ""}`} release={release} onSaved={reload} />
      <h2>Publish</h2>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {release.state === "published" ? (
        <>
          <p>Listeners can find and buy this release. Unpublishing takes it out of the store.</p>
          <button type="button" class="button-secondary" onClick={unpublish}>
            Unpublish
          </button>
        </>
      ) : (
        <button type="button" onClick={publish} disabled={tracks.length === 0}>
          Publish
        </button>
      )}
    </section>
  );
}

export function ReleaseEditorPage({ releaseId }: { releaseId: string }) {
  const [detail, reload] = useLoad(() => dataOf(session.api.GET("/api/v1/releases/{id}", { params: { path: { id: releaseId } } })), [releaseId]);
  return <LoadedView loaded={detail}>{(loaded) => <Editor detail={loaded} reload={reload} />}</LoadedView>;
}
