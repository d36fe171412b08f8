//! The player's state and its one <audio> element. Each track in the queue plays in full when the
//! listener may hear it (its artist, a buyer, or the free tier): `POST /plays` hands out a signed
//! stream link the <audio> element can use, and progress is reported so the play can count.
//! Otherwise the 30-second preview plays, which anyone may hear.
import { dataOf } from "../api/client";
import { Observable } from "../lib/store";
import { session } from "../state";
import { shouldReport, type ReportState } from "./play-reporting";
import { messageOf } from "../lib/errors";
import { nextIndex, nextRepeatMode, type RepeatMode } from "./queue-order";

export type PlaybackSource = "preview" | "full";

export interface QueueEntry {
  track_id: string;
  title: string;
  artist_name: string;
  duration_ms: number;
  /**
   * False when the page knows the listener may hear only the preview (not owned, not their own,
   * free tier off): the player then asks for no full play, which the server would refuse with a
   * 403. Unknown (absent) or true: it asks.
   */
  full?: boolean;
  /** For the lock screen and hardware keys (Media Session). */
  album?: string;
  artwork_url?: string | null;
}

export interface PlayerState {
  queue: QueueEntry[];
  index: number;
  playing: boolean;
  position_ms: number;
  /** From the audio itself once loaded; a preview is shorter than the track. */
  media_duration_ms: number | null;
  /** How the current track plays; null while that is being decided. */
  source: PlaybackSource | null;
  /** Waveform bins (0..=255) of the current track, for full plays. */
  peaks: readonly number[];
  error: string | null;
  /** 0..=1. */
  volume: number;
  shuffle: boolean;
  repeat: RepeatMode;
}

/** Seeking with the keyboard moves this far per arrow press. */
export const SEEK_STEP_MS = 5_000;
/** "Previous" restarts the current track when more than this has played, like every player. */
const RESTART_THRESHOLD_MS = 3_000;

interface Playback {
  source: PlaybackSource;
  url: string;
  play: (ReportState & { play_id: string }) | null;
}

/** Decides how a track plays: in full when the server starts a play for this listener, else the preview. */
async function startPlayback({ track_id, full }: QueueEntry): Promise<Playback> {
  if (session.me !== null && full !== false) {
    const { data, response } = await session.api.POST("/api/v1/plays", { body: { track_id } });
    if (data !== undefined) return { source: "full", url: data.stream_url, play: { play_id: data.play_id, last_reported_ms: 0, qualified: false } };
    if (response.status !== 403) throw new Error(`This track cannot be played right now (${response.status}).`);
  }
  return { source: "preview", url: `/api/v1/tracks/${encodeURIComponent(track_id)}/preview`, play: null };
}

class PlayerController {
  readonly state = new Observable<PlayerState>({
    queue: [],
    index: 0,
    playing: false,
    position_ms: 0,
    media_duration_ms: null,
    source: null,
    peaks: [],
    error: null,
    volume: 1,
    shuffle: false,
    repeat: "off",
  });
  private audioElement: HTMLAudioElement | null = null;
  private play: Playback["play"] = null;
  /** Answers for an earlier track arrive late; only the newest load may touch the player. */
  private loadGeneration = 0;

  get current(): QueueEntry | null {
    return this.state.value.queue[this.state.value.index] ?? null;
  }

  /** Replaces the queue and starts playing `entries[start_index]`. */
  playNow(entries: QueueEntry[], start_index = 0) {
    this.update({ queue: entries, index: start_index });
    void this.load(true);
  }

  enqueue(entry: QueueEntry) {
    const wasEmpty = this.state.value.queue.length === 0;
    this.update({ queue: [...this.state.value.queue, entry] });
    if (wasEmpty) void this.load(false);
  }

  removeAt(index: number) {
    const { queue, index: currentIndex, playing } = this.state.value;
    const remaining = queue.filter((_, position) => position !== index);
    if (index === currentIndex) {
      this.update({ queue: remaining, index: Math.min(currentIndex, Math.max(0, remaining.length - 1)) });
      if (remaining.length === 0) this.stop();
      else void this.load(playing);
    } else {
      this.update({ queue: remaining, index: index < currentIndex ? currentIndex - 1 : currentIndex });
    }
  }

  jumpTo(index: number) {
    if (index < 0 || index >= this.state.value.queue.length) return;
    this.update({ index });
    void this.load(true);
  }

  /** The next track by the queue's rules (shuffle, repeat all); a Next press never replays the same track. */
  next() {
    this.advance(false);
  }

  private advance(ended: boolean) {
    const { index, queue, shuffle, repeat } = this.state.value;
    const following = nextIndex({ index, length: queue.length, shuffle, repeat, ended });
    if (following === null) return;
    if (following === index) {
      this.seek(0);
      void this.audio().play().catch((error: unknown) => this.update({ error: String(error) }));
    } else {
      this.jumpTo(following);
    }
  }

  /** True when Next has somewhere to go. */
  hasNext(): boolean {
    const { index, queue, shuffle, repeat } = this.state.value;
    return nextIndex({ index, length: queue.length, shuffle, repeat, ended: false }) !== null;
  }

  setVolume(volume: number) {
    const clamped = Math.min(1, Math.max(0, volume));
    this.audio().volume = clamped;
    this.update({ volume: clamped });
  }

  toggleShuffle() {
    this.update({ shuffle: !this.state.value.shuffle });
  }

  cycleRepeat() {
    this.update({ repeat: nextRepeatMode(this.state.value.repeat) });
  }

  /** Moves the play position by `delta_ms`, within the track. */
  seekBy(delta_ms: number) {
    const { position_ms, media_duration_ms } = this.state.value;
    const end_ms = media_duration_ms ?? this.current?.duration_ms ?? 0;
    this.seek(Math.min(Math.max(0, position_ms + delta_ms), Math.max(0, end_ms - 1)));
  }

  previous() {
    if (this.state.value.position_ms > RESTART_THRESHOLD_MS || this.state.value.index === 0) this.seek(0);
    else this.jumpTo(this.state.value.index - 1);
  }

  togglePlay() {
    const audio = this.audio();
    if (this.current === null || this.state.value.source === null) return;
    if (audio.paused) void audio.play().catch((error: unknown) => this.update({ error: String(error) }));
    else audio.pause();
  }

  seek(position_ms: number) {
    this.audio().currentTime = position_ms / 1000;
    this.update({ position_ms });
  }

  clear() {
    if (this.state.value.queue.length === 0) return;
    this.stop();
    this.update({ queue: [], index: 0, playing: false, position_ms: 0, media_duration_ms: null, source: null, peaks: [], error: null });
  }

  private stop() {
    this.loadGeneration += 1;
    this.play = null;
    const audio = this.audio();
    audio.pause();
    audio.removeAttribute("src");
  }

  private async load(autoplay: boolean) {
    const entry = this.current;
    if (entry === null) return;
    const generation = ++this.loadGeneration;
    const audio = this.audio();
    audio.pause();
    this.play = null;
    this.update({ position_ms: 0, media_duration_ms: null, source: null, peaks: [], error: null });
    let playback: Playback;
    try {
      playback = await startPlayback(entry);
    } catch (failure) {
      if (generation === this.loadGeneration) this.update({ error: messageOf(failure) });
      return;
    }
    if (generation !== this.loadGeneration) return;
    this.play = playback.play;
    audio.src = playback.url;
    this.update({ source: playback.source });
    updateMediaSession(entry);
    if (autoplay) void audio.play().catch((error: unknown) => this.update({ error: String(error) }));
    if (playback.source === "full") {
      const waveform = await dataOf(session.api.GET("/api/v1/tracks/{id}/waveform", { params: { path: { id: entry.track_id } } })).catch(() => null);
      if (waveform !== null && generation === this.loadGeneration) this.update({ peaks: waveform.peaks });
    }
  }

  private reportProgress(settling: boolean) {
    const play = this.play;
    const position_ms = this.state.value.position_ms;
    if (play === null || !shouldReport(play, position_ms, settling)) return;
    play.last_reported_ms = position_ms;
    void session.api
      .POST("/api/v1/plays/{id}/progress", { params: { path: { id: play.play_id } }, body: { position_ms } })
      .then(({ data }) => {
        if (data?.qualified) play.qualified = true;
      })
      // A lost report is made good by the next one: the server keeps the furthest position.
      .catch(() => undefined);
  }

  private audio(): HTMLAudioElement {
    if (this.audioElement !== null) return this.audioElement;
    const audio = new Audio();
    audio.preload = "metadata";
    audio.addEventListener("play", () => this.update({ playing: true }));
    audio.addEventListener("pause", () => {
      this.update({ playing: false });
      this.reportProgress(true);
    });
    audio.addEventListener("timeupdate", () => {
      this.update({ position_ms: Math.round(audio.currentTime * 1000) });
      this.reportProgress(false);
    });
    audio.addEventListener("durationchange", () => {
      if (Number.isFinite(audio.duration)) this.update({ media_duration_ms: Math.round(audio.duration * 1000) });
    });
    audio.addEventListener("ended", () => {
      this.reportProgress(true);
      this.advance(true);
    });
    audio.addEventListener("error", () => {
      if (audio.getAttribute("src") !== null) this.update({ playing: false, error: "This track could not be played." });
    });
    this.audioElement = audio;
    return audio;
  }

  private update(change: Partial<PlayerState>) {
    this.state.set({ ...this.state.value, ...change });
  }
}

export const player = new PlayerController();

/** Tells the operating system what plays, for the lock screen, notifications and media keys. */
function updateMediaSession(entry: QueueEntry) {
  if (typeof navigator === "undefined" || !("mediaSession" in navigator)) return;
  navigator.mediaSession.metadata = new MediaMetadata({
    title: entry.title,
    artist: entry.artist_name,
    album: entry.album ?? "",
    artwork: entry.artwork_url == null ? [] : [{ src: entry.artwork_url }],
  });
}

if (typeof navigator !== "undefined" && "mediaSession" in navigator) {
  const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
    ["play", () => player.state.value.playing || player.togglePlay()],
    ["pause", () => player.state.value.playing && player.togglePlay()],
    ["previoustrack", () => player.previous()],
    ["nexttrack", () => player.next()],
    ["seekbackward", (details) => player.seekBy(-(details.seekOffset ?? SEEK_STEP_MS / 1000) * 1000)],
    ["seekforward", (details) => player.seekBy((details.seekOffset ?? SEEK_STEP_MS / 1000) * 1000)],
    ["seekto", (details) => details.seekTime !== undefined && player.seek(details.seekTime * 1000)],
  ];
  for (const [action, handler] of handlers) {
    try {
      navigator.mediaSession.setActionHandler(action, handler);
    } catch {
      // A browser that does not know this action simply does not offer it.
    }
  }
}

// Full plays belong to the signed-in account: signing out empties the player.
session.subscribe((state) => {
  if (state.status === "anonymous") player.clear();
});
