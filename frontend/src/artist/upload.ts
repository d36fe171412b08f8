//! Uploading audio files with per-file progress. fetch() cannot report upload progress, so this
//! uses XMLHttpRequest; it signs the request with the session's access token and, like every
//! other call, refreshes once and retries once on a 401.

export interface UploadResult {
  status: number;
  /** The parsed JSON body, or null when the body was not JSON. */
  body: unknown;
}

export type ProgressListener = (loaded_bytes: number, total_bytes: number) => void;

/** The part of the session an upload needs. */
export interface UploadSession {
  currentAccessToken(): string | null;
  refresh(): Promise<boolean>;
}

/** Sends `file` as the multipart part named `file` to `url`. Rejects only on network failure. */
export function sendFile(
  url: string,
  file: File,
  token: string | null,
  onProgress: ProgressListener,
  createRequest: () => XMLHttpRequest = () => new XMLHttpRequest(),
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const request = createRequest();
    request.open("POST", url);
    if (token !== null) request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.upload.addEventListener("progress", (event) => {
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    });
    request.addEventListener("load", () => {
      let body: unknown = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // Not JSON (a proxy's error page, say): the status alone tells what happened.
      }
      resolve({ status: request.status, body });
    });
    request.addEventListener("error", () => reject(new Error("The upload failed: the connection was lost.")));
    request.addEventListener("abort", () => reject(new Error("The upload was cancelled.")));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}

/** `sendFile` with the session's token; on 401 refreshes (shared with other callers) and retries once. */
export async function uploadFile(
  session: UploadSession,
  url: string,
  file: File,
  onProgress: ProgressListener,
  createRequest?: () => XMLHttpRequest,
): Promise<UploadResult> {
  const tokenUsed = session.currentAccessToken();
  const first = await sendFile(url, file, tokenUsed, onProgress, createRequest);
  if (first.status !== 401) return first;
  const refreshed = session.currentAccessToken() !== tokenUsed || (await session.refresh());
  if (!refreshed) return first;
  onProgress(0, file.size);
  return sendFile(url, file, session.currentAccessToken(), onProgress, createRequest);
}

/** Whole percent for a progress bar; 0 while the size is unknown, never above 100. */
export function progressPercent(loaded_bytes: number, total_bytes: number): number {
  if (total_bytes <= 0 || !Number.isFinite(loaded_bytes)) return 0;
  return Math.min(100, Math.max(0, Math.floor((loaded_bytes * 100) / total_bytes)));
}
