//! Money in integer minor units (cents), as the API sends it: formatting and parsing without
//! floats, so "$12.05" always means exactly 1205 cents.

/** Largest amount a person may type (one million dollars), to keep inputs sane. */
export const TYPED_AMOUNT_CENTS_MAX = 100_000_000;

const CENTS_PER_UNIT = 100;

/** Formats integer cents as US dollars: 1205 → "$12.05", -300 → "-$3.00", 123456 → "$1,234.56". */
export function formatCents(amount_cents: number): string {
  if (!Number.isSafeInteger(amount_cents)) {
    throw new RangeError(`amount must be an integer number of cents, got ${amount_cents}`);
  }
  const sign = amount_cents < 0 ? "-" : "";
  const absolute_cents = Math.abs(amount_cents);
  const whole_units = Math.trunc(absolute_cents / CENTS_PER_UNIT);
  const remainder_cents = absolute_cents % CENTS_PER_UNIT;
  const grouped = whole_units.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}$${grouped}.${remainder_cents.toString().padStart(2, "0")}`;
}

/**
 * Parses what a person typed into a price field ("12", "12.5", "$12.05", "1,200.00") into cents.
 * Returns null for anything else: negatives, more than two decimals, letters, too large.
 */
export function parseCents(typed: string): number | null {
  const match = /^\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/.exec(typed.trim());
  if (match === null) return null;
  const whole_units = Number(match[1]!.replaceAll(",", ""));
  const fraction = (match[2] ?? "").padEnd(2, "0");
  const amount_cents = whole_units * CENTS_PER_UNIT + Number(fraction);
  if (!Number.isSafeInteger(amount_cents) || amount_cents > TYPED_AMOUNT_CENTS_MAX) return null;
  return amount_cents;
}

/** One cent in micro-cents: ad impressions accrue below a cent (DESIGN.md §4). */
export const MICRO_CENTS_PER_CENT = 1_000_000;

/** Formats micro-cents as dollars, truncated to the cent, with what is left below it: "$0.12 + 345678 µ¢", "-$0.01 − 500000 µ¢". */
export function formatMicroCents(amount_micro_cents: number): string {
  if (!Number.isSafeInteger(amount_micro_cents)) {
    throw new RangeError(`amount must be an integer number of micro-cents, got ${amount_micro_cents}`);
  }
  const whole_cents = Math.trunc(amount_micro_cents / MICRO_CENTS_PER_CENT);
  const remainder_micro_cents = amount_micro_cents % MICRO_CENTS_PER_CENT;
  const sign = amount_micro_cents < 0 && whole_cents === 0 ? "-" : "";
  const dollars = sign + formatCents(whole_cents);
  const joiner = amount_micro_cents < 0 ? "−" : "+";
  return remainder_micro_cents === 0 ? dollars : `${dollars} ${joiner} ${Math.abs(remainder_micro_cents)} µ¢`;
}
