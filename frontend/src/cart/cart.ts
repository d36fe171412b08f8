//! The cart: what a listener means to buy, kept in localStorage until checkout. Amounts are integer
//! cents. The server decides the real price at checkout; the cart only helps the listener choose a
//! pay-what-you-want amount at or above the minimum and shows what the total will be.
import type { Schemas } from "../api/client";
import type { Price } from "../catalog/price";
import { formatCents } from "../lib/money";

export interface CartItem {
  item_kind: "release" | "track";
  item_id: string;
  title: string;
  artist_name: string;
  price: Price;
  /** For pay-what-you-want items: what the listener chose to pay. */
  chosen_amount_cents: number;
}

/** A cart is one checkout session; keep it to a size a person reviews at a glance. */
export const CART_ITEMS_MAX = 100;

/** What this line will cost: the fixed price, or the chosen amount for pay-what-you-want. */
export function lineAmountCents(item: CartItem): number {
  return item.price.kind === "fixed" ? item.price.price_cents : item.chosen_amount_cents;
}

/** Why a line cannot be checked out, or null when it can. */
export function lineProblem(item: CartItem): string | null {
  if (item.price.kind === "fixed") return null;
  if (!Number.isSafeInteger(item.chosen_amount_cents)) return "Enter an amount in dollars and cents.";
  if (item.chosen_amount_cents < item.price.minimum_cents) {
    return `Pay at least ${formatCents(item.price.minimum_cents)}.`;
  }
  return null;
}

export interface CartSummary {
  total_cents: number;
  /** Items whose amount is below their minimum; checkout waits until they are fixed. */
  problems: { item_id: string; message: string }[];
}

export function summarize(items: readonly CartItem[]): CartSummary {
  let total_cents = 0;
  const problems: CartSummary["problems"] = [];
  for (const item of items) {
    const message = lineProblem(item);
    if (message === null) total_cents += lineAmountCents(item);
    else problems.push({ item_id: item.item_id, message });
  }
  return { total_cents, problems };
}

/** Adds an item (a second add of the same item is a no-op); pay-what-you-want starts at the artist's suggestion. */
export function addItem(items: readonly CartItem[], item: Omit<CartItem, "chosen_amount_cents">): CartItem[] {
  if (items.some((existing) => existing.item_id === item.item_id) || items.length >= CART_ITEMS_MAX) return [...items];
  const chosen_amount_cents =
    item.price.kind === "fixed" ? item.price.price_cents : Math.max(item.price.minimum_cents, item.price.suggested_cents);
  return [...items, { ...item, chosen_amount_cents }];
}

export function chooseAmount(items: readonly CartItem[], item_id: string, chosen_amount_cents: number): CartItem[] {
  return items.map((item) => (item.item_id === item_id ? { ...item, chosen_amount_cents } : item));
}

export function removeItem(items: readonly CartItem[], item_id: string): CartItem[] {
  return items.filter((item) => item.item_id !== item_id);
}

/** Reads a stored cart, dropping anything that does not look like a cart line (old or tampered data). */
export function parseStoredCart(stored: string | null): CartItem[] {
  if (stored === null) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter(isCartItem).slice(0, CART_ITEMS_MAX) : [];
  } catch {
    return [];
  }
}

function isCartItem(value: unknown): value is CartItem {
  const item = value as Partial<CartItem> | null;
  if (item === null || typeof item !== "object") return false;
  const price = item.price as Record<string, unknown> | undefined;
  const priceIsValid =
    (price?.kind === "fixed" && Number.isSafeInteger(price.price_cents)) ||
    (price?.kind === "pay_what_you_want" && Number.isSafeInteger(price.minimum_cents) && Number.isSafeInteger(price.suggested_cents));
  return (
    (item.item_kind === "release" || item.item_kind === "track") &&
    typeof item.item_id === "string" &&
    typeof item.title === "string" &&
    typeof item.artist_name === "string" &&
    Number.isSafeInteger(item.chosen_amount_cents) &&
    priceIsValid
  );
}

/** The cart as the checkout request's items: the server prices them; only chosen amounts go along. */
export function checkoutItems(items: readonly CartItem[]): Schemas["CartItemRequest"][] {
  return items.map((item) => {
    const amount_cents = item.price.kind === "pay_what_you_want" ? item.chosen_amount_cents : null;
    return item.item_kind === "release" ? { release_id: item.item_id, amount_cents } : { track_id: item.item_id, amount_cents };
  });
}
