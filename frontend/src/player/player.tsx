//! The persistent player bar: current track, transport controls, the waveform (full plays) or a
//! position slider (previews), volume, shuffle and repeat, and the queue. Keys anywhere on the page
//! (outside form fields): Space plays and pauses, ←/→ seek, Shift+←/→ change track.
import { useEffect, useState } from "preact/hooks";
import { formatDuration } from "../lib/duration";
import { useObservable } from "../lib/store";
import { player, SEEK_STEP_MS } from "./player-store";
import { Icon } from "./icons";
import { WaveformCanvas } from "./waveform-canvas";

/** True when a key press belongs to the element that has focus (typing, a button's own Space, a slider's arrows). */
function keyBelongsToFocus(target: EventTarget | null, key: string): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return true;
  if (key === " " && (target.tagName === "BUTTON" || target.tagName === "A" || target.getAttribute("role") === "button")) return true;
  return key.startsWith("Arrow") && target.getAttribute("role") === "slider";
}

function usePlayerKeys(active: boolean) {
  useEffect(() => {
    if (!active) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || keyBelongsToFocus(event.target, event.key)) return;
      if (event.key === " ") player.togglePlay();
      else if (event.key === "ArrowLeft") event.shiftKey ? player.previous() : player.seekBy(-SEEK_STEP_MS);
      else if (event.key === "ArrowRight") event.shiftKey ? player.next() : player.seekBy(SEEK_STEP_MS);
      else return;
      event.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [active]);
}

const REPEAT_TEXT = { off: "Repeat: off", all: "Repeat: all", one: "Repeat: this track" } as const;

export function Player() {
  const state = useObservable(player.state);
  const [queueOpen, setQueueOpen] = useState(false);
  usePlayerKeys(state.queue.length > 0);
  const entry = state.queue[state.index];
  if (entry === undefined) return null;
  const duration_ms = state.media_duration_ms ?? entry.duration_ms;
  const label = `Position in ${entry.title}`;

  return (
    <section class="player" aria-label="Player">
      <div class="player-now">
        <strong>{entry.title}</strong>
        <span>{entry.artist_name}</span>
        {state.source === null ? null : <span class="status-pill">{state.source === "preview" ? "Preview" : "Full track"}</span>}
      </div>
      <div class="player-controls">
        <button type="button" onClick={() => player.previous()} aria-label="Previous track">
          <Icon name="previous" />
        </button>
        <button type="button" onClick={() => player.togglePlay()} aria-label={state.playing ? "Pause" : "Play"}>
          <Icon name={state.playing ? "pause" : "play"} />
        </button>
        <button type="button" onClick={() => player.next()} aria-label="Next track" disabled={!player.hasNext()}>
          <Icon name="next" />
        </button>
      </div>
      <div class="player-options">
        <button type="button" class="button-secondary" aria-pressed={state.shuffle} onClick={() => player.toggleShuffle()}>
          Shuffle
        </button>
        <button type="button" class="button-secondary" aria-pressed={state.repeat !== "off"} onClick={() => player.cycleRepeat()}>
          {REPEAT_TEXT[state.repeat]}
        </button>
        <label class="player-volume">
          <span class="visually-hidden">Volume</span>
          <input
            type="range"
            min={0}
            max={100}
            step={5}
            value={Math.round(state.volume * 100)}
            aria-valuetext={`${Math.round(state.volume * 100)}%`}
            onInput={(event) => player.setVolume(Number((event.currentTarget as HTMLInputElement).value) / 100)}
          />
        </label>
      </div>
      <div class="player-position">
        <span>{formatDuration(state.position_ms)}</span>
        {state.source === "full" && state.peaks.length > 0 ? (
          <WaveformCanvas peaks={state.peaks} position_ms={state.position_ms} duration_ms={duration_ms} label={label} onSeek={(position_ms) => player.seek(position_ms)} />
        ) : (
          <input
            type="range"
            aria-label={label}
            min={0}
            max={duration_ms}
            step={1000}
            value={state.position_ms}
            onInput={(event) => player.seek(Number((event.currentTarget as HTMLInputElement).value))}
          />
        )}
        <span>{formatDuration(duration_ms)}</span>
      </div>
      <button type="button" class="button-secondary player-queue-toggle" aria-expanded={queueOpen} aria-controls="player-queue" onClick={() => setQueueOpen(!queueOpen)}>
        Queue ({state.queue.length})
      </button>
      {state.error === null ? null : (
        <p class="error" role="alert">
          {state.error}
        </p>
      )}
      <ol id="player-queue" class="player-queue" hidden={!queueOpen}>
        {state.queue.map((queued, index) => (
          <li key={`${queued.track_id}-${index}`} aria-current={index === state.index ? "true" : undefined}>
            <button type="button" class="link-button" onClick={() => player.jumpTo(index)}>
              {queued.title} — {queued.artist_name}
            </button>
            <button type="button" class="button-secondary" aria-label={`Remove ${queued.title} from the queue`} onClick={() => player.removeAt(index)}>
              Remove
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
