//! Chart axis maths.
import { describe, expect, it } from "vitest";
import { niceCeiling, ticks } from "./scale";

describe("niceCeiling", () => {
  it.each([
    [0, 1],
    [-50, 1],
    [Number.NaN, 1],
    [1, 1],
    [2, 2],
    [3, 5],
    [7, 10],
    [10, 10],
    [11, 20],
    [1205, 2000],
    [5000, 5000],
    [5001, 10_000],
    [987_654, 1_000_000],
  ])("%s → %i", (maximum, expected) => {
    expect(niceCeiling(maximum)).toBe(expected);
  });
});

describe("ticks", () => {
  it("spaces ticks evenly from zero", () => {
    expect(ticks(2000, 4)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(ticks(5, 2)).toEqual([0, 3, 5]);
  });
});
