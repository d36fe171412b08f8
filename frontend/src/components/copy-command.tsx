//! A shell command shown large enough to read, with a button that copies it (and says so).
import { useState } from "preact/hooks";

/** How long "Copied" shows before the button reads "Copy" again. */
const COPIED_NOTICE_MS = 2_000;

export function CopyCommand({ command, label }: { command: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setState("copied");
      setTimeout(() => setState("idle"), COPIED_NOTICE_MS);
    } catch {
      // Without clipboard access (an insecure origin, a refused permission) the text is still selectable.
      setState("failed");
    }
  };
  return (
    <div class="copy-command">
      <code data-testid="copy-command-text">{command}</code>
      <button type="button" class="button-secondary" onClick={() => void copy()}>
        {state === "copied" ? "Copied" : "Copy"}
        <span class="visually-hidden"> {label}</span>
      </button>
      <span class="muted" role="status">
        {state === "failed" ? "Copying is blocked here: select the command and copy it." : ""}
      </span>
    </div>
  );
}
