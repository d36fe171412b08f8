//! Which track comes next: in order, shuffled, or repeated (one track or the whole queue).

export type RepeatMode = "off" | "all" | "one";

/** What happens after `repeat` on the Repeat button. */
export function nextRepeatMode(repeat: RepeatMode): RepeatMode {
  return repeat === "off" ? "all" : repeat === "all" ? "one" : "off";
}

/**
 * The index to play after `index` in a queue of `length`, or null to stop. `ended` is true when
 * the track finished by itself (repeat-one replays it then; a Next press still moves on).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function nextIndex({ index, length, shuffle, repeat, ended }: { index: number; length: number; shuffle: boolean; repeat: RepeatMode; ended: boolean }, random: () => number = Math.random): number | null {
  if (length === 0) return null;
  if (ended && repeat === "one") return index;
  if (shuffle && length > 1) {
    // Any other track, each as likely.
    const pick = Math.floor(random() * (length - 1));
    return pick >= index ? pick + 1 : pick;
  }
  if (index + 1 < length) return index + 1;
  return repeat === "off" ? null : 0;
}
