//! Showing the API's UTC date-times (RFC 3339, `2026-11-21T08:51:07.123Z`) to the minute.

/** `2026-11-21T08:51:07.123Z` → `2026-11-21 08:51`; a missing time → `—`. */
export function formatMinute(timestamp: string | null | undefined): string {
  return timestamp == null ? "—" : timestamp.replace("T", " ").slice(0, 16);
}
