//! How prices read on the storefront.
import type { Schemas } from "../api/client";
import { formatCents } from "../lib/money";

export type Price = Schemas["PriceView"];

/** "$9.99", "$5.00 or more", or "Name your price" for a pay-what-you-want minimum of zero. */
export function describePrice(price: Price): string {
  if (price.kind === "fixed") return formatCents(price.price_cents);
  if (price.minimum_cents === 0) return "Name your price";
  return `${formatCents(price.minimum_cents)} or more`;
}
