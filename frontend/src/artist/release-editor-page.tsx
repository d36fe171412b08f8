//! Editing a draft release: drop audio files (uploaded with per-file progress and errors), then
//! fix titles, order, credits and prices (one Save for the release and all its tracks), and publish.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { formatDuration } from "../lib/duration";
import { Link } from "../lib/router";
import { useObservable } from "../lib/store";
import { useLoad } from "../lib/use-load";
import { session } from "../state";
import { PriceEditor } from "./price-editor";
import { isEmptyPlan, planSave, type ReleaseDraft, type ReleaseKind, type TrackDraft } from "./release-edits";
import { progressPercent } from "./upload";
import { UploadQueue, type UploadEntry } from "./upload-queue";
import { messageOf } from "../lib/errors";
import { ConfirmSubmit, useConfirmation } from "../components/confirm";

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

const KIND_LABELS: Record<ReleaseKind, string> = { album: "Album", ep: "EP", single: "Single" };

/** The release's own fields; every input is controlled, so it shows the stored value until edited. */
function ReleaseFields({ release, tags, draft, onChange, showErrors }: { release: Schemas["ReleaseView"]; tags: readonly string[]; draft: ReleaseDraft; onChange: (update: ReleaseDraft) => void; showErrors: boolean }) {
  const text = (field: "title" | "release_date" | "credits" | "tags") => (event: Event) => onChange({ [field]: (event.currentTarget as HTMLInputElement).value });
  return (
    <div class="release-form">
      <div class="field">
        <label for="title">Title</label>
        <input id="title" name="title" value={draft.title ?? release.title ?? ""} onInput={text("title")} required maxLength={TITLE_CHARACTERS_MAX} />
      </div>
      <div class="field field-inline">
        <label for="kind">Kind</label>
        <select id="kind" name="kind" value={draft.kind ?? release.kind} onChange={(event) => onChange({ kind: (event.currentTarget as HTMLSelectElement).value as ReleaseKind })}>
          {Object.entries(KIND_LABELS).map(([kind, label]) => (
            <option key={kind} value={kind}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div class="field field-inline">
        <label for="release_date">Release date</label>
        <input id="release_date" name="release_date" type="date" value={draft.release_date ?? release.release_date ?? ""} onInput={text("release_date")} />
      </div>
      <div class="field">
        <label for="credits">Credits</label>
        <textarea id="credits" name="credits" rows={3} value={draft.credits ?? release.credits} onInput={text("credits")} maxLength={CREDITS_CHARACTERS_MAX} />
      </div>
      <div class="field">
        <label for="tags">Tags</label>
        <input id="tags" name="tags" value={draft.tags ?? tags.join(", ")} onInput={text("tags")} aria-describedby="tags-hint" />
        <p id="tags-hint" class="muted">Up to 10, separated by commas: genres, moods, places.</p>
      </div>
      <PriceEditor id="release-price" legend="Price of the whole release" initial={release.price} onChange={(price) => onChange({ price })} showErrors={showErrors} />
    </div>
  );
}

interface TrackRowProps {
  track: Schemas["TrackView"];
  index: number;
  count: number;
  draft: TrackDraft | undefined;
  onMove: (from: number, to: number) => void;
  onChange: (update: TrackDraft) => void;
  showErrors: boolean;
}

function TrackRow({ track, index, count, draft, onMove, onChange, showErrors }: TrackRowProps) {
  return (
    <li>
      <div class="track-row" role="group" aria-label={`Track ${index + 1}`}>
        <div class="track-line">
          <span class="track-position">{index + 1}</span>
          <div class="field">
            <label for={`track-${track.id}`} class="visually-hidden">
              Title of track {index + 1}
            </label>
            <input
              id={`track-${track.id}`}
              name={`track-${track.id}-title`}
              value={draft?.title ?? track.title}
              onInput={(event) => onChange({ title: (event.currentTarget as HTMLInputElement).value })}
              required
              maxLength={TITLE_CHARACTERS_MAX}
            />
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
          <PriceEditor id={`track-price-${track.id}`} legend={`Price of track ${index + 1} on its own`} initial={track.price} onChange={(price) => onChange({ price })} showErrors={showErrors} />
        </div>
      </div>
    </li>
  );
}

function Editor({ detail, reload }: { detail: Schemas["ReleaseDetailView"]; reload: () => void }) {
  const { release, tracks } = detail;
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  const queue = useMemo(() => new UploadQueue(session, `/api/v1/releases/${encodeURIComponent(release.id)}/tracks`, () => reloadRef.current()), [release.id]);
  const [error, setError] = useState<string | null>(null);
  const [releaseDraft, setReleaseDraft] = useState<ReleaseDraft>({});
  const [trackDrafts, setTrackDrafts] = useState<Record<string, TrackDraft>>({});
  const [saveMessage, setSaveMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [showErrors, setShowErrors] = useState(false);
  const [saving, setSaving] = useState(false);
  // The drafts a Save sent: once the reloaded release arrives they are what is stored, so they are
  // dropped then (and not before, so the fields never flash the old values). Drafts edited again
  // in the meantime are other objects and stay.
  const sentDrafts = useRef<{ release: ReleaseDraft; tracks: Record<string, TrackDraft> } | null>(null);
  useEffect(() => {
    const sent = sentDrafts.current;
    if (sent === null) return;
    sentDrafts.current = null;
    setReleaseDraft((current) => (current === sent.release ? {} : current));
    setTrackDrafts((current) => Object.fromEntries(Object.entries(current).filter(([id, draft]) => sent.tracks[id] !== draft)));
  }, [detail]);

  // The server names tracks by id; people know them by title.
  const names = useMemo(() => new Map([[release.id, release.title ?? "this release"], ...tracks.map((track): [string, string] => [track.id, track.title])]), [release, tracks]);
  const run = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setError(null);
      reload();
    } catch (failure) {
      setError(messageOf(failure, names));
    }
  };
  const move = (from: number, to: number) => {
    const order = tracks.map((track) => track.id);
    const [moved] = order.splice(from, 1);
    order.splice(to, 0, moved!);
    void run(() => dataOf(session.api.PUT("/api/v1/releases/{id}/track-order", { params: { path: { id: release.id } }, body: { track_ids: order } })));
  };

  /** Sends every change; true when everything is stored (or nothing had changed). */
  const save = async ({ quiet = false } = {}): Promise<boolean> => {
    const plan = planSave(detail, releaseDraft, trackDrafts);
    if ("error" in plan) {
      setShowErrors(true);
      setSaveMessage({ error: true, text: plan.error });
      return false;
    }
    if (isEmptyPlan(plan)) {
      if (!quiet) setSaveMessage({ error: false, text: "Nothing to save." });
      return true;
    }
    setSaving(true);
    // Only what the server took is dropped after the reload; a refused draft stays on screen.
    const sent = { release: {} as ReleaseDraft, tracks: {} as Record<string, TrackDraft> };
    sentDrafts.current = sent;
    try {
      for (const patch of plan.tracks) {
        try {
          await dataOf(session.api.PATCH("/api/v1/tracks/{id}", { params: { path: { id: patch.id } }, body: patch.body }));
        } catch (failure) {
          throw new Error(`${patch.title}: ${messageOf(failure, names)}`);
        }
        sent.tracks[patch.id] = trackDrafts[patch.id]!;
      }
      if (plan.release !== null) await dataOf(session.api.PATCH("/api/v1/releases/{id}", { params: { path: { id: release.id } }, body: plan.release }));
      sent.release = releaseDraft;
      setShowErrors(false);
      setSaveMessage({ error: false, text: "Saved." });
      return true;
    } catch (failure) {
      setSaveMessage({ error: true, text: messageOf(failure, names) });
      return false;
    } finally {
      setSaving(false);
      // Whatever part was stored shows as stored.
      reload();
    }
  };
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    void save();
  };
  const publish = async () => {
    // Publishing what is on screen: unsaved changes go first.
    if (!(await save({ quiet: true }))) return;
    await run(() => dataOf(session.api.POST("/api/v1/releases/{id}/publish", { params: { path: { id: release.id } } })));
  };
  // Unpublishing takes the release out of the store at once: it asks first.
  const unpublishConfirmation = useConfirmation();
  const unpublish = (event: SubmitEvent) => {
    event.preventDefault();
    if (!unpublishConfirmation.confirming) {
      unpublishConfirmation.ask();
      return;
    }
    unpublishConfirmation.done();
    void run(() => dataOf(session.api.POST("/api/v1/releases/{id}/unpublish", { params: { path: { id: release.id } } })));
  };
  const editTrack = (id: string) => (update: TrackDraft) => {
    setSaveMessage(null);
    setTrackDrafts((current) => ({ ...current, [id]: { ...current[id], ...update } }));
  };
  const editRelease = (update: ReleaseDraft) => {
    setSaveMessage(null);
    setReleaseDraft((current) => ({ ...current, ...update }));
  };

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
      <form onSubmit={onSubmit} class="release-editor-form" aria-label="Release and tracks" noValidate>
        {tracks.length === 0 ? (
          <p class="muted">No tracks yet.</p>
        ) : (
          <ol class="track-editor">
            {tracks.map((track, index) => (
              <TrackRow key={track.id} track={track} index={index} count={tracks.length} draft={trackDrafts[track.id]} onMove={move} onChange={editTrack(track.id)} showErrors={showErrors} />
            ))}
          </ol>
        )}
        <h2>Details and price</h2>
        <ReleaseFields release={release} tags={detail.tags} draft={releaseDraft} onChange={editRelease} showErrors={showErrors} />
        <div class="save-bar">
          <button type="submit" disabled={saving}>
            Save changes
          </button>
          <p class={saveMessage?.error ? "error" : "muted"} role="status" data-testid="save-status">
            {saveMessage?.text}
          </p>
        </div>
      </form>
      <h2>Publish</h2>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {release.state === "published" ? (
        <>
          <p>Listeners can find and buy this release. Unpublishing takes it out of the store.</p>
          <form onSubmit={unpublish} aria-label="Unpublish">
            <ConfirmSubmit
              label="Unpublish"
              confirmLabel="Unpublish now"
              question="The release leaves the store at once; buyers keep what they bought."
              confirming={unpublishConfirmation.confirming}
              onCancel={unpublishConfirmation.done}
            />
          </form>
        </>
      ) : (
        <button type="button" onClick={() => void publish()} disabled={tracks.length === 0 || saving}>
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
