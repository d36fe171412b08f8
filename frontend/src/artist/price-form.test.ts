//! Price form parsing.
import { describe, expect, it } from "vitest";
import { priceFromForm, typedFromPrice, type TypedPrice } from "./price-form";

const typed = (change: Partial<TypedPrice>): TypedPrice => ({ kind: "fixed", fixed: "", minimum: "", suggested: "", ...change });

describe("priceFromForm", () => {
  it.each<[Partial<TypedPrice>, ReturnType<typeof priceFromForm>]>([
    [{ kind: "none" }, { price: null }],
    [{ fixed: "9.99" }, { price: { kind: "fixed", price_cents: 999 } }],
    [{ fixed: "1,000" }, { price: { kind: "fixed", price_cents: 100_000 } }],
    [{ kind: "pay_what_you_want", minimum: "5", suggested: "8.50" }, { price: { kind: "pay_what_you_want", minimum_cents: 500, suggested_cents: 850 } }],
    [{ kind: "pay_what_you_want", minimum: "0", suggested: "" }, { price: { kind: "pay_what_you_want", minimum_cents: 0, suggested_cents: 0 } }],
  ])("%j → %j", (change, expected) => {
    expect(priceFromForm(typed(change))).toEqual(expected);
  });

  it.each<Partial<TypedPrice>>([
    { fixed: "" },
    { fixed: "0" },
    { fixed: "-1" },
    { fixed: "9.999" },
    { kind: "pay_what_you_want", minimum: "" },
    { kind: "pay_what_you_want", minimum: "5", suggested: "four" },
    { kind: "pay_what_you_want", minimum: "5", suggested: "4.99" },
  ])("rejects %j", (change) => {
    expect(priceFromForm(typed(change))).toHaveProperty("error");
  });
});

describe("typedFromPrice", () => {
  it("round-trips through the form", () => {
    for (const price of [null, { kind: "fixed", price_cents: 123_456 }, { kind: "pay_what_you_want", minimum_cents: 0, suggested_cents: 700 }] as const) {
      expect(priceFromForm(typedFromPrice(price))).toEqual({ price });
    }
  });
});
