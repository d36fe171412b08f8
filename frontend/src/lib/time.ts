//! Showing the API's UTC date-times (`2026-11-21T08:51:07.123`, no zone) to the minute.

/** `2026-11-21T08:51:07.123` → `2026-11-21 08:51`; a missing time → `—`. */
export function formatMinute(timestamp: string | null | undefined): string {
  return timestamp == null ? "—" : timestamp.replace("T", " ").slice(0, 16);
}
