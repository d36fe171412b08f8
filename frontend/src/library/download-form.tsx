//! Downloading something the listener owns in a chosen format, through a signed, expiring link
//! (the library and release pages both offer it).
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { messageOf } from "../lib/errors";
import { session } from "../state";

/** The formats the server makes (see `DownloadRequest.format`), with the words people know them by. */
const DOWNLOAD_FORMATS = [
  ["flac", "FLAC (lossless)"],
  ["mp3-320", "MP3 320 kbps"],
  ["mp3-v0", "MP3 V0"],
  ["original", "Original upload"],
] as const;

export function Download({ item, title }: { item: Schemas["LibraryItemView"]["item"]; title: string }) {
  const [error, setError] = useState<string | null>(null);
  const selectId = `format-${item.id}`;
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const format = String(new FormData(event.currentTarget as HTMLFormElement).get("format"));
    try {
      const link = await dataOf(session.api.POST("/api/v1/library/{item}/download", { params: { path: { item: item.id } }, body: { format } }));
      setError(null);
      // The link is signed and answers with an attachment, so the browser saves it and stays here.
      window.location.assign(link.url);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <form class="download-form" onSubmit={onSubmit} aria-label={`Download ${title}`}>
      <label for={selectId}>Format</label>
      <select id={selectId} name="format">
        {DOWNLOAD_FORMATS.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <button type="submit" class="button-secondary">
        Download<span class="visually-hidden"> {title}</span>
      </button>
      {error === null ? null : <span class="error">{error}</span>}
    </form>
  );
}

