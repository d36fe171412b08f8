//! Next-track rules: order, shuffle (never the same track twice in a row), repeat one and all.
import { describe, expect, it } from "vitest";
import { nextIndex, nextRepeatMode } from "./queue-order";

const base = { index: 0, length: 3, shuffle: false, repeat: "off" as const, ended: true };

describe("nextIndex", () => {
  it("goes in order and stops at the end without repeat", () => {
    expect(nextIndex(base)).toBe(1);
    expect(nextIndex({ ...base, index: 2 })).toBeNull();
  });

  it("wraps with repeat all, replays with repeat one, and Next still moves on under repeat one", () => {
    expect(nextIndex({ ...base, index: 2, repeat: "all" })).toBe(0);
    expect(nextIndex({ ...base, index: 1, repeat: "one" })).toBe(1);
    expect(nextIndex({ ...base, index: 1, repeat: "one", ended: false })).toBe(2);
  });

  it("shuffles to any other track, never the current one", () => {
    const picks = new Set([0, 0.34, 0.5, 0.99].map((value) => nextIndex({ ...base, index: 1, shuffle: true }, () => value)));
    expect(picks).toEqual(new Set([0, 2]));
    expect(nextIndex({ ...base, length: 1, shuffle: true, index: 0 })).toBeNull();
  });
});

describe("nextRepeatMode", () => {
  it("cycles off → all → one → off", () => {
    expect([nextRepeatMode("off"), nextRepeatMode("all"), nextRepeatMode("one")]).toEqual(["all", "one", "off"]);
  });
});
