//! Renders the loading and error states of `useLoad` the same way on every page.
import type { ComponentChildren } from "preact";
import type { Loaded } from "../lib/use-load";

export function LoadedView<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.status === "loading") return <p aria-live="polite">Loading…</p>;
  if (loaded.status === "error") {
    return (
      <p class="error" role="alert">
        {loaded.message}
      </p>
    );
  }
  return <>{children(loaded.data)}</>;
}
