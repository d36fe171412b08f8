//! Actions that move money or cannot be taken back ask once more: the first press shows what will
//! happen and a second, explicitly named button (focused, so Enter confirms); Cancel goes back.
import { useEffect, useRef, useState } from "preact/hooks";

/** A form's confirmation state: `ask()` on the first submit, `done()` once it has acted or been cancelled. */
export function useConfirmation() {
  const [confirming, setConfirming] = useState(false);
  return { confirming, ask: () => setConfirming(true), done: () => setConfirming(false) };
}

interface ConfirmSubmitProps {
  label: string;
  /** The second button's words, naming what happens ("Pay out now"). */
  confirmLabel: string;
  /** One sentence on the consequence, read out when the question appears. */
  question: string;
  confirming: boolean;
  onCancel: () => void;
  disabled?: boolean;
}

/** The submit button of a form whose action asks first. */
export function ConfirmSubmit({ label, confirmLabel, question, confirming, onCancel, disabled = false }: ConfirmSubmitProps) {
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);
  if (!confirming) {
    return (
      <button type="submit" disabled={disabled}>
        {label}
      </button>
    );
  }
  return (
    <div class="confirm">
      <p role="status">{question}</p>
      <span class="row-actions">
        <button type="submit" class="button-danger" ref={confirmButton} disabled={disabled}>
          {confirmLabel}
        </button>
        <button type="button" class="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </span>
    </div>
  );
}
