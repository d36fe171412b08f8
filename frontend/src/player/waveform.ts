//! Waveform maths, kept apart from the canvas so it can be tested: turning the catalog's peak bins
//! (0..=255 each) into bars that fit a width, and a click position into a seek time.

/** The loudest value a peak bin can hold. */
export const PEAK_MAX = 255;
/** A silent stretch still shows a sliver, so the waveform reads as a track and not a gap. */
export const BAR_HEIGHT_MIN_PX = 1;

export interface BarLayout {
  bar_width_px: number;
  gap_px: number;
  height_px: number;
}

export interface Bar {
  x_px: number;
  y_px: number;
  width_px: number;
  height_px: number;
}

/** How many bars fit in `width_px` (the last bar needs no gap after it). */
export function barCount(width_px: number, layout: BarLayout): number {
  const stride_px = layout.bar_width_px + layout.gap_px;
  if (stride_px <= 0 || width_px < layout.bar_width_px) return 0;
  return Math.floor((width_px + layout.gap_px) / stride_px);
}

/**
 * Resamples `peaks` to the bars that fit in `width_px`: each bar shows the loudest bin it covers
 * (so short transients survive downsampling); with fewer bins than bars, bins are stretched.
 * Bars are centred vertically. Out-of-range bins (hostile or corrupt data) are clamped.
 */
export function barsFromPeaks(peaks: readonly number[], width_px: number, layout: BarLayout): Bar[] {
  const count = peaks.length === 0 ? 0 : barCount(width_px, layout);
  const bars: Bar[] = [];
  for (let index = 0; index < count; index += 1) {
    const first_bin = Math.floor((index * peaks.length) / count);
    const end_bin = Math.max(first_bin + 1, Math.floor(((index + 1) * peaks.length) / count));
    let loudest = 0;
    for (let bin = first_bin; bin < end_bin; bin += 1) loudest = Math.max(loudest, clampPeak(peaks[bin]!));
    const height_px = Math.max(BAR_HEIGHT_MIN_PX, Math.round((loudest / PEAK_MAX) * layout.height_px));
    bars.push({
      x_px: index * (layout.bar_width_px + layout.gap_px),
      y_px: (layout.height_px - height_px) / 2,
      width_px: layout.bar_width_px,
      height_px,
    });
  }
  return bars;
}

function clampPeak(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(PEAK_MAX, Math.max(0, value));
}

/** A click at `offset_x_px` of a waveform `width_px` wide seeks to this time (clamped to the track). */
export function seekTimeFromClick(offset_x_px: number, width_px: number, duration_ms: number): number {
  if (width_px <= 0 || duration_ms <= 0 || !Number.isFinite(offset_x_px)) return 0;
  const fraction = Math.min(1, Math.max(0, offset_x_px / width_px));
  return Math.round(fraction * duration_ms);
}

/** How many of `bar_count` bars are drawn as already played at `position_ms`. */
export function playedBarCount(position_ms: number, duration_ms: number, bar_count: number): number {
  if (duration_ms <= 0 || !Number.isFinite(position_ms)) return 0;
  const fraction = Math.min(1, Math.max(0, position_ms / duration_ms));
  return Math.floor(fraction * bar_count);
}
