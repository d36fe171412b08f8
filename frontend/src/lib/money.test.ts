//! Formatting and parsing of integer cents.
import { describe, expect, it } from "vitest";
import { formatCents, formatMicroCents, parseCents } from "./money";

describe("formatCents", () => {
  it.each([
    [0, "$0.00"],
    [5, "$0.05"],
    [99, "$0.99"],
    [1205, "$12.05"],
    [100_000, "$1,000.00"],
    [123_456_789, "$1,234,567.89"],
    [-300, "-$3.00"],
    [-5, "-$0.05"],
  ])("%i cents → %s", (amount_cents, expected) => {
    expect(formatCents(amount_cents)).toBe(expected);
  });

  it.each([12.05, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])("refuses non-integer or unsafe %s", (value) => {
    expect(() => formatCents(value)).toThrow(RangeError);
  });
});

describe("parseCents", () => {
  it.each([
    ["12", 1200],
    ["12.5", 1250],
    ["12.05", 1205],
    ["$12.05", 1205],
    [" 0.99 ", 99],
    ["1,200.00", 120_000],
    ["0", 0],
  ])("%j → %i", (typed, expected) => {
    expect(parseCents(typed)).toBe(expected);
  });

  it.each(["", "-1", "12.345", "1.2.3", "abc", "12e3", "0x10", "1,20", "$", ".5", "1000001", "9".repeat(400)])(
    "rejects %j",
    (typed) => {
      expect(parseCents(typed)).toBeNull();
    },
  );

  it("round-trips with formatCents", () => {
    for (const amount_cents of [0, 1, 10, 99, 100, 1205, 99_999, 1_000_000]) {
      expect(parseCents(formatCents(amount_cents))).toBe(amount_cents);
    }
  });
});

describe("formatMicroCents", () => {
  it.each([
    [0, "$0.00"],
    [1_000_000, "$0.01"],
    [1_205_000_000, "$12.05"],
    [12_345_678, "$0.12 + 345678 µ¢"],
    [1, "$0.00 + 1 µ¢"],
    [-1_500_000, "-$0.01 − 500000 µ¢"],
    [-5, "-$0.00 − 5 µ¢"],
  ])("%i µ¢ → %s", (amount_micro_cents, expected) => {
    expect(formatMicroCents(amount_micro_cents)).toBe(expected);
  });

  it("refuses non-integers", () => {
    expect(() => formatMicroCents(0.5)).toThrow(RangeError);
  });
});
