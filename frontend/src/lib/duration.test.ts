//! Duration formatting.
import { expect, it } from "vitest";
import { formatDuration } from "./duration";

it.each([
  [0, "0:00"],
  [999, "0:00"],
  [65_000, "1:05"],
  [600_000, "10:00"],
  [3_725_000, "1:02:05"],
  [-5, "0:00"],
  [Number.NaN, "0:00"],
])("%i ms reads %s", (duration_ms, expected) => {
  expect(formatDuration(duration_ms)).toBe(expected);
});
