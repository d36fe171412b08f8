//! When the player tells the server how far a play has got. A play qualifies after the server's
//! `qualifying_ms` (it bounds reports by its own clock), so reports go every few seconds of
//! listening and on pause or end, and stop once the play has qualified.

/** Report at least this often while playing; the server caps what it credits anyway. */
export const PROGRESS_REPORT_INTERVAL_MS = 10_000;

export interface ReportState {
  last_reported_ms: number;
  qualified: boolean;
}

/** Whether to report `position_ms` now; `settling` is true on pause and at the end of the track. */
export function shouldReport(state: ReportState, position_ms: number, settling: boolean): boolean {
  if (state.qualified || !Number.isFinite(position_ms) || position_ms <= state.last_reported_ms) return false;
  return settling || position_ms - state.last_reported_ms >= PROGRESS_REPORT_INTERVAL_MS;
}
