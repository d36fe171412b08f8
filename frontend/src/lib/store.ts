//! A minimal observable value for app-wide state (session, cart, player) and the hook that
//! re-renders a component when it changes.
import { useEffect, useState } from "preact/hooks";

export class Observable<T> {
  private listeners = new Set<(value: T) => void>();

  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }

  set(value: T) {
    this.current = value;
    for (const listener of this.listeners) listener(value);
  }

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

export function useObservable<T>(observable: { value: T; subscribe(listener: (value: T) => void): () => void }): T {
  const [value, setValue] = useState(observable.value);
  useEffect(() => {
    setValue(observable.value);
    return observable.subscribe(setValue);
  }, [observable]);
  return value;
}
