//! Bins → bars and click → seek time.
import { describe, expect, it } from "vitest";
import { barCount, barsFromPeaks, playedBarCount, seekTimeFromClick, type BarLayout } from "./waveform";

const layout: BarLayout = { bar_width_px: 2, gap_px: 1, height_px: 100 };

describe("barCount", () => {
  it.each([
    [0, 0],
    [1, 0],
    [2, 1],
    [4, 1],
    [5, 2],
    [299, 100],
    [300, 100],
  ])("%i px wide fits %i bars", (width_px, expected) => {
    expect(barCount(width_px, layout)).toBe(expected);
  });

  it("fits nothing when the stride is not positive", () => {
    expect(barCount(100, { bar_width_px: 0, gap_px: 0, height_px: 10 })).toBe(0);
  });
});

describe("barsFromPeaks", () => {
  it("keeps the loudest bin of each group when downsampling", () => {
    const peaks = [0, 255, 10, 20, 51, 0, 0, 0];
    const heights = barsFromPeaks(peaks, 11, layout).map((bar) => bar.height_px);
    expect(heights).toEqual([100, 8, 20, 1]);
  });

  it("stretches fewer bins over all bars", () => {
    const heights = barsFromPeaks([255, 0], 11, layout).map((bar) => bar.height_px);
    expect(heights).toEqual([100, 100, 1, 1]);
  });

  it("lays bars out left to right and centres them", () => {
    const bars = barsFromPeaks([255, 128], 5, layout);
    expect(bars).toEqual([
      { x_px: 0, y_px: 0, width_px: 2, height_px: 100 },
      { x_px: 3, y_px: 25, width_px: 2, height_px: 50 },
    ]);
  });

  it("clamps hostile values instead of drawing outside the canvas", () => {
    const heights = barsFromPeaks([1000, -5, Number.NaN, Number.POSITIVE_INFINITY], 11, layout).map((bar) => bar.height_px);
    expect(heights).toEqual([100, 1, 1, 1]);
  });

  it("draws nothing for no peaks or no room", () => {
    expect(barsFromPeaks([], 300, layout)).toEqual([]);
    expect(barsFromPeaks([200], 1, layout)).toEqual([]);
  });

  it("never covers more width than it was given", () => {
    for (const width_px of [2, 3, 17, 299, 640]) {
      const bars = barsFromPeaks(new Array(1000).fill(100), width_px, layout);
      const last = bars.at(-1)!;
      expect(last.x_px + last.width_px).toBeLessThanOrEqual(width_px);
    }
  });
});

describe("seekTimeFromClick", () => {
  it.each([
    [0, 200, 180_000, 0],
    [100, 200, 180_000, 90_000],
    [200, 200, 180_000, 180_000],
    [1, 3, 1000, 333],
    [-40, 200, 180_000, 0],
    [500, 200, 180_000, 180_000],
    [50, 0, 180_000, 0],
    [50, 200, 0, 0],
    [Number.NaN, 200, 1000, 0],
  ])("x=%i of %i px in %i ms → %i ms", (offset_x_px, width_px, duration_ms, expected) => {
    expect(seekTimeFromClick(offset_x_px, width_px, duration_ms)).toBe(expected);
  });
});

describe("playedBarCount", () => {
  it.each([
    [0, 1000, 10, 0],
    [499, 1000, 10, 4],
    [500, 1000, 10, 5],
    [1000, 1000, 10, 10],
    [5000, 1000, 10, 10],
    [500, 0, 10, 0],
  ])("%i of %i ms over %i bars → %i", (position_ms, duration_ms, bar_count, expected) => {
    expect(playedBarCount(position_ms, duration_ms, bar_count)).toBe(expected);
  });
});
