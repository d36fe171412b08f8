//! Turning what an artist typed into a price the API accepts, with messages that say what to fix.
//! The server checks again (it owns the rules and the ceilings); this only catches typos early.
import type { Price } from "../catalog/price";
import { formatCents, parseCents } from "../lib/money";

export type PriceKind = "none" | "fixed" | "pay_what_you_want";

export interface TypedPrice {
  kind: PriceKind;
  fixed: string;
  minimum: string;
  suggested: string;
}

export type PriceFormResult = { price: Price | null } | { error: string };

export function priceFromForm(typed: TypedPrice): PriceFormResult {
  if (typed.kind === "none") return { price: null };
  if (typed.kind === "fixed") {
    const price_cents = parseCents(typed.fixed);
    if (price_cents === null || price_cents === 0) return { error: "Enter a price above $0.00, like 9.99." };
    return { price: { kind: "fixed", price_cents } };
  }
  const minimum_cents = parseCents(typed.minimum);
  if (minimum_cents === null) return { error: "Enter a minimum, like 5.00 (0 lets people pay nothing)." };
  const suggested_cents = typed.suggested.trim() === "" ? minimum_cents : parseCents(typed.suggested);
  if (suggested_cents === null) return { error: "Enter a suggested amount, like 8.00." };
  if (suggested_cents < minimum_cents) return { error: `The suggested amount must be at least the minimum (${formatCents(minimum_cents)}).` };
  return { price: { kind: "pay_what_you_want", minimum_cents, suggested_cents } };
}

/** The form's starting values for a stored price. */
export function typedFromPrice(price: Price | null | undefined): TypedPrice {
  const plain = (amount_cents: number) => formatCents(amount_cents).slice(1).replaceAll(",", "");
  if (price == null) return { kind: "none", fixed: "", minimum: "", suggested: "" };
  if (price.kind === "fixed") return { kind: "fixed", fixed: plain(price.price_cents), minimum: "", suggested: "" };
  return { kind: "pay_what_you_want", fixed: "", minimum: plain(price.minimum_cents), suggested: plain(price.suggested_cents) };
}
