//! The persistent player bar: current track, transport controls, the waveform (full plays) or a
//! position slider (previews), and the queue.
import { useState } from "preact/hooks";
import { formatDuration } from "../lib/duration";
import { useObservable } from "../lib/store";
import { player } from "./player-store";
import { Icon } from "./icons";
import { WaveformCanvas } from "./waveform-canvas";

export function Player() {
  const state = useObservable(player.state);
  const [queueOpen, setQueueOpen] = useState(false);
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
        <button type="button" onClick={() => player.next()} aria-label="Next track" disabled={state.index + 1 >= state.queue.length}>
          <Icon name="next" />
        </button>
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
