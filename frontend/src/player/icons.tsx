//! Transport icons as inline SVG: they render the same everywhere, unlike symbol characters that
//! depend on the fonts installed. Decorative: the buttons carry the names.

const PATHS = {
  previous: "M6 5h2v14H6zM20 5v14L9 12z",
  play: "M7 5v14l12-7z",
  pause: "M6 5h4v14H6zM14 5h4v14h-4z",
  next: "M16 5h2v14h-2zM4 5v14l11-7z",
} as const;

export function Icon({ name }: { name: keyof typeof PATHS }) {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="currentColor" />
    </svg>
  );
}
