//! The files an artist dropped, uploaded a few at a time with per-file progress and per-file
//! errors: one bad file never stops the others.
import { apiError } from "../auth/session";
import { Observable } from "../lib/store";
import { uploadFile, type UploadSession } from "./upload";
import { messageOf } from "../lib/errors";

/**
 * Tracks take their positions in the order their uploads finish, so files go one at a time, in
 * name order (most rips are numbered): the draft's order then matches the files'.
 */
export const UPLOADS_IN_PARALLEL_MAX = 1;

export type UploadStatus = "queued" | "uploading" | "analysing" | "done" | "failed";

export interface UploadEntry {
  key: number;
  file_name: string;
  size_bytes: number;
  loaded_bytes: number;
  status: UploadStatus;
  error: string | null;
}

export class UploadQueue {
  readonly entries = new Observable<UploadEntry[]>([]);
  private files = new Map<number, File>();
  private nextKey = 0;
  private active = 0;

  constructor(
    private readonly session: UploadSession,
    private readonly url: string,
    private readonly onUploaded: () => void,
  ) {}

  add(files: Iterable<File>) {
    const added: UploadEntry[] = [];
    const byName = [...files].sort((first, second) => first.name.localeCompare(second.name, undefined, { numeric: true }));
    for (const file of byName) {
      const key = this.nextKey++;
      this.files.set(key, file);
      added.push({ key, file_name: file.name, size_bytes: file.size, loaded_bytes: 0, status: "queued", error: null });
    }
    this.entries.set([...this.entries.value, ...added]);
    this.pump();
  }

  private pump() {
    while (this.active < UPLOADS_IN_PARALLEL_MAX) {
      const next = this.entries.value.find((entry) => entry.status === "queued");
      if (next === undefined) return;
      this.active += 1;
      this.update(next.key, { status: "uploading" });
      void this.send(next.key).finally(() => {
        this.active -= 1;
        this.files.delete(next.key);
        this.pump();
      });
    }
  }

  private async send(key: number) {
    const file = this.files.get(key);
    if (file === undefined) return;
    try {
      const result = await uploadFile(this.session, this.url, file, (loaded_bytes, total_bytes) =>
        // Once every byte is sent the server is still probing the file: say so.
        this.update(key, { loaded_bytes, status: loaded_bytes >= total_bytes ? "analysing" : "uploading" }),
      );
      if (result.status >= 200 && result.status < 300) {
        this.update(key, { status: "done", loaded_bytes: file.size });
        this.onUploaded();
      } else {
        this.update(key, { status: "failed", error: messageOf(apiError(new Response(null, { status: result.status }), result.body)) });
      }
    } catch (failure) {
      this.update(key, { status: "failed", error: messageOf(failure) });
    }
  }

  private update(key: number, change: Partial<UploadEntry>) {
    this.entries.set(this.entries.value.map((entry) => (entry.key === key ? { ...entry, ...change } : entry)));
  }
}
