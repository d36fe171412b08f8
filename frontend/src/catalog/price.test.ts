//! Price labels.
import { expect, it } from "vitest";
import { describePrice, type Price } from "./price";

it.each<[Price, string]>([
  [{ kind: "fixed", price_cents: 999 }, "$9.99"],
  [{ kind: "pay_what_you_want", minimum_cents: 500, suggested_cents: 800 }, "$5.00 or more"],
  [{ kind: "pay_what_you_want", minimum_cents: 0, suggested_cents: 700 }, "Name your price"],
])("%j reads %s", (price, expected) => {
  expect(describePrice(price)).toBe(expected);
});
