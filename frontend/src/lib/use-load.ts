//! Loading data for a page: a hook that runs an API call when its inputs change and exposes
//! loading, error and data states (ignoring answers that arrive after the inputs changed).
//! `reload()` refreshes in place: the old data stays on screen until the new data arrives, so
//! components below keep their state (an upload queue, a half-edited form).
import { useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "./errors";

export type Loaded<T> = { status: "loading" } | { status: "error"; message: string } | { status: "ready"; data: T };

export function useLoad<T>(load: () => Promise<T>, inputs: readonly unknown[]): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ status: "loading" });
  const [generation, setGeneration] = useState(0);
  const loadedGeneration = useRef(generation);
  useEffect(() => {
    let current = true;
    const isReload = loadedGeneration.current !== generation;
    loadedGeneration.current = generation;
    if (!isReload) setState({ status: "loading" });
    load().then(
      (data) => current && setState({ status: "ready", data }),
      (error: unknown) => current && setState({ status: "error", message: messageOf(error) }),
    );
    return () => {
      current = false;
    };
  }, [...inputs, generation]);
  return [state, () => setGeneration((value) => value + 1)];
}
