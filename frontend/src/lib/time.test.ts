//! Date-times to the minute.
import { describe, expect, it } from "vitest";
import { formatMinute } from "./time";

describe("formatMinute", () => {
  it.each([
    ["2026-11-21T08:51:07.123456Z", "2026-11-21 08:51"],
    ["2026-11-21T08:51:00Z", "2026-11-21 08:51"],
    [null, "—"],
    [undefined, "—"],
  ])("%s → %s", (timestamp, expected) => {
    expect(formatMinute(timestamp)).toBe(expected);
  });
});
