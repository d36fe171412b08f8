//! Choosing how something is sold: a fixed price, pay what you want above a minimum, or (for a
//! single track) not sold on its own.
import { useState } from "preact/hooks";
import type { Price } from "../catalog/price";
import { priceFromForm, typedFromPrice, type PriceFormResult, type PriceKind, type TypedPrice } from "./price-form";

interface PriceEditorProps {
  id: string;
  legend: string;
  initial: Price | null | undefined;
  /** The label of the "none" choice; absent when something must have a price. */
  noneLabel?: string;
  onChange: (result: PriceFormResult) => void;
  /** Show the error even before the amounts are touched (after a Save that it stopped). */
  showErrors?: boolean;
}

export function PriceEditor({ id, legend, initial, noneLabel, onChange, showErrors = false }: PriceEditorProps) {
  const [typed, setTyped] = useState<TypedPrice>(() => {
    const stored = typedFromPrice(initial);
    // Something that must have a price starts on "fixed" rather than on no choice at all.
    return stored.kind === "none" && noneLabel === undefined ? { ...stored, kind: "fixed" } : stored;
  });
  // An empty price is not a mistake yet: it is one once someone has typed in it and left.
  const [touched, setTouched] = useState(false);
  const result = priceFromForm(typed);
  const error = "error" in result && (touched || showErrors) ? result.error : null;
  const change = (update: Partial<TypedPrice>) => {
    const next = { ...typed, ...update };
    setTyped(next);
    onChange(priceFromForm(next));
  };
  const kinds: [PriceKind, string][] = [
    ["fixed", "Fixed price"],
    ["pay_what_you_want", "Pay what you want"],
  ];
  if (noneLabel !== undefined) kinds.push(["none", noneLabel]);
  const amount = (field: "fixed" | "minimum" | "suggested", label: string) => (
    <div class="field field-inline">
      <label for={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        inputMode="decimal"
        value={typed[field]}
        aria-invalid={error !== null}
        aria-describedby={error !== null ? `${id}-error` : undefined}
        onInput={(event) => change({ [field]: (event.currentTarget as HTMLInputElement).value })}
        onBlur={() => setTouched(true)}
      />
    </div>
  );
  return (
    <fieldset class="price-editor">
      <legend>{legend}</legend>
      <div class="choices">
        {kinds.map(([kind, label]) => (
          <label class="choice" key={kind}>
            <input type="radio" name={`${id}-kind`} value={kind} checked={typed.kind === kind} onChange={() => change({ kind })} /> {label}
          </label>
        ))}
      </div>
      {typed.kind === "fixed" ? amount("fixed", "Price in dollars") : null}
      {typed.kind === "pay_what_you_want" ? (
        <div class="amounts">
          {amount("minimum", "Minimum in dollars")}
          {amount("suggested", "Suggested in dollars")}
        </div>
      ) : null}
      {error !== null ? (
        <p class="error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
