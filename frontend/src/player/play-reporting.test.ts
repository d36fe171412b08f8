//! Progress report timing.
import { expect, it } from "vitest";
import { PROGRESS_REPORT_INTERVAL_MS, shouldReport } from "./play-reporting";

it.each([
  [{ last_reported_ms: 0, qualified: false }, PROGRESS_REPORT_INTERVAL_MS - 1, false, false],
  [{ last_reported_ms: 0, qualified: false }, PROGRESS_REPORT_INTERVAL_MS, false, true],
  [{ last_reported_ms: 10_000, qualified: false }, 15_000, false, false],
  [{ last_reported_ms: 10_000, qualified: false }, 15_000, true, true],
  [{ last_reported_ms: 10_000, qualified: false }, 10_000, true, false],
  [{ last_reported_ms: 20_000, qualified: false }, 5_000, true, false],
  [{ last_reported_ms: 0, qualified: true }, 60_000, true, false],
  [{ last_reported_ms: 0, qualified: false }, Number.NaN, true, false],
])("%j at %i ms (settling %s) → %s", (state, position_ms, settling, expected) => {
  expect(shouldReport(state, position_ms, settling)).toBe(expected);
});
