//! Turning whatever a failed call threw into the sentence a page shows.

/** The message of an `Error` (the API client's errors carry the server's message), or the thrown value as text. */
export function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}
