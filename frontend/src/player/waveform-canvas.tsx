//! The waveform drawn on a canvas from the track's peaks; click or use the arrow keys to seek.
//! Exposed to assistive technology as a slider over the playback position.
import { useEffect, useRef, useState } from "preact/hooks";
import { formatDuration } from "../lib/duration";
import { barsFromPeaks, playedBarCount, seekTimeFromClick, type BarLayout } from "./waveform";
import { SEEK_STEP_MS } from "./player-store";

const LAYOUT: BarLayout = { bar_width_px: 2, gap_px: 1, height_px: 40 };

interface WaveformProps {
  peaks: readonly number[];
  position_ms: number;
  duration_ms: number;
  label: string;
  onSeek: (position_ms: number) => void;
}

export function WaveformCanvas({ peaks, position_ms, duration_ms, label, onSeek }: WaveformProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [width_px, setWidth] = useState(0);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (canvas === null) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry?.contentRect.width ?? 0)));
    observer.observe(canvas);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext("2d");
    if (canvas === null || context == null || width_px === 0) return;
    const scale = window.devicePixelRatio || 1;
    canvas.width = width_px * scale;
    canvas.height = LAYOUT.height_px * scale;
    context.setTransform(scale, 0, 0, scale, 0, 0);
    context.clearRect(0, 0, width_px, LAYOUT.height_px);
    const bars = barsFromPeaks(peaks, width_px, LAYOUT);
    const played = playedBarCount(position_ms, duration_ms, bars.length);
    const styles = getComputedStyle(canvas);
    bars.forEach((bar, index) => {
      context.fillStyle = index < played ? styles.getPropertyValue("--waveform-played") : styles.getPropertyValue("--waveform-rest");
      context.fillRect(bar.x_px, bar.y_px, bar.width_px, bar.height_px);
    });
  }, [peaks, position_ms, duration_ms, width_px]);

  const onClick = (event: MouseEvent) => {
    const bounds = (event.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    onSeek(seekTimeFromClick(event.clientX - bounds.left, bounds.width, duration_ms));
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const targets: Record<string, number> = {
      ArrowLeft: position_ms - SEEK_STEP_MS,
      ArrowDown: position_ms - SEEK_STEP_MS,
      ArrowRight: position_ms + SEEK_STEP_MS,
      ArrowUp: position_ms + SEEK_STEP_MS,
      Home: 0,
      End: duration_ms,
    };
    const target = targets[event.key];
    if (target === undefined) return;
    event.preventDefault();
    onSeek(Math.min(duration_ms, Math.max(0, target)));
  };

  return (
    <canvas
      ref={canvasRef}
      class="waveform"
      role="slider"
      tabIndex={0}
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={Math.round(duration_ms / 1000)}
      aria-valuenow={Math.round(position_ms / 1000)}
      aria-valuetext={`${formatDuration(position_ms)} of ${formatDuration(duration_ms)}`}
      onClick={onClick}
      onKeyDown={onKeyDown}
    />
  );
}
