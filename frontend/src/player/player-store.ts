//! The player's state and its one <audio> element: a queue of tracks, each played either as the
//! public 30-second preview or as the full stream (for listeners who own the track or stream
//! for free with an active agent).
import { Observable } from "../lib/store";

export type PlaybackSource = "preview" | "full";

export interface QueueEntry {
  track_id: string;
  title: string;
  artist_name: string;
  duration_ms: number;
  /** Waveform bins, 0..=255 each; empty when the catalog has none. */
  peaks: readonly number[];
  source: PlaybackSource;
}

export interface PlayerState {
  queue: QueueEntry[];
  index: number;
  playing: boolean;
  position_ms: number;
  /** From the audio itself once loaded; a preview is shorter than the track. */
  media_duration_ms: number | null;
  error: string | null;
}

/** Seeking with the keyboard moves this far per arrow press. */
export const SEEK_STEP_MS = 5_000;
/** "Previous" restarts the current track when more than this has played, like every player. */
const RESTART_THRESHOLD_MS = 3_000;

export function sourceUrl(entry: QueueEntry): string {
  const kind = entry.source === "preview" ? "preview" : "stream";
  return `/api/v1/tracks/${encodeURIComponent(entry.track_id)}/${kind}`;
}

class PlayerController {
  readonly state = new Observable<PlayerState>({ queue: [], index: 0, playing: false, position_ms: 0, media_duration_ms: null, error: null });
  private audioElement: HTMLAudioElement | null = null;

  get current(): QueueEntry | null {
    return this.state.value.queue[this.state.value.index] ?? null;
  }

  /** Replaces the queue and starts playing `entries[start_index]`. */
  playNow(entries: QueueEntry[], start_index = 0) {
    this.update({ queue: entries, index: start_index });
    this.load(true);
  }

  enqueue(entry: QueueEntry) {
    const wasEmpty = this.state.value.queue.length === 0;
    this.update({ queue: [...this.state.value.queue, entry] });
    if (wasEmpty) this.load(false);
  }

  removeAt(index: number) {
    const { queue, index: currentIndex } = this.state.value;
    const remaining = queue.filter((_, position) => position !== index);
    if (index === currentIndex) {
      this.update({ queue: remaining, index: Math.min(currentIndex, Math.max(0, remaining.length - 1)) });
      if (remaining.length === 0) this.audio().removeAttribute("src");
      else this.load(this.state.value.playing);
    } else {
      this.update({ queue: remaining, index: index < currentIndex ? currentIndex - 1 : currentIndex });
    }
  }

  jumpTo(index: number) {
    if (index < 0 || index >= this.state.value.queue.length) return;
    this.update({ index });
    this.load(true);
  }

  next() {
    this.jumpTo(this.state.value.index + 1);
  }

  previous() {
    if (this.state.value.position_ms > RESTART_THRESHOLD_MS || this.state.value.index === 0) this.seek(0);
    else this.jumpTo(this.state.value.index - 1);
  }

  togglePlay() {
    const audio = this.audio();
    if (this.current === null) return;
    if (audio.paused) void audio.play().catch((error: unknown) => this.update({ error: String(error) }));
    else audio.pause();
  }

  seek(position_ms: number) {
    this.audio().currentTime = position_ms / 1000;
    this.update({ position_ms });
  }

  private load(autoplay: boolean) {
    const entry = this.current;
    if (entry === null) return;
    const audio = this.audio();
    audio.src = sourceUrl(entry);
    this.update({ position_ms: 0, media_duration_ms: null, error: null });
    if (autoplay) void audio.play().catch((error: unknown) => this.update({ error: String(error) }));
  }

  private audio(): HTMLAudioElement {
    if (this.audioElement !== null) return this.audioElement;
    const audio = new Audio();
    audio.preload = "metadata";
    audio.addEventListener("play", () => this.update({ playing: true }));
    audio.addEventListener("pause", () => this.update({ playing: false }));
    audio.addEventListener("timeupdate", () => this.update({ position_ms: Math.round(audio.currentTime * 1000) }));
    audio.addEventListener("durationchange", () => {
      if (Number.isFinite(audio.duration)) this.update({ media_duration_ms: Math.round(audio.duration * 1000) });
    });
    audio.addEventListener("ended", () => {
      if (this.state.value.index + 1 < this.state.value.queue.length) this.next();
    });
    audio.addEventListener("error", () => this.update({ playing: false, error: "This track could not be played." }));
    this.audioElement = audio;
    return audio;
  }

  private update(change: Partial<PlayerState>) {
    this.state.set({ ...this.state.value, ...change });
  }
}

export const player = new PlayerController();
