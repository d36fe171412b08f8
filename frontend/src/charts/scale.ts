//! Axis maths for the dashboard charts: a "nice" top value (1, 2 or 5 × 10ⁿ) and evenly spaced
//! ticks, all in integers so money axes stay in whole cents.

/** The smallest 1, 2 or 5 × 10ⁿ that is ≥ `maximum` (1 for an empty or all-zero series). */
export function niceCeiling(maximum: number): number {
  if (!Number.isFinite(maximum) || maximum <= 1) return 1;
  let magnitude = 1;
  while (magnitude * 10 < maximum) magnitude *= 10;
  for (const step of [1, 2, 5, 10]) {
    if (step * magnitude >= maximum) return step * magnitude;
  }
  return 10 * magnitude;
}

/** `count + 1` tick values from 0 to `ceiling`, rounded to integers. */
export function ticks(ceiling: number, count: number): number[] {
  return Array.from({ length: count + 1 }, (_, index) => Math.round((ceiling * index) / count));
}
