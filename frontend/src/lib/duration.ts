//! Track lengths and positions as people read them.

/** 0 → "0:00", 65_000 → "1:05", 3_725_000 → "1:02:05"; negative or non-finite reads as "0:00". */
export function formatDuration(duration_ms: number): string {
  const total_seconds = Number.isFinite(duration_ms) && duration_ms > 0 ? Math.floor(duration_ms / 1000) : 0;
  const hours = Math.floor(total_seconds / 3600);
  const minutes = Math.floor((total_seconds % 3600) / 60);
  const seconds = (total_seconds % 60).toString().padStart(2, "0");
  return hours > 0 ? `${hours}:${minutes.toString().padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}
