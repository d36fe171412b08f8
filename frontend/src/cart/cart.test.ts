//! Cart totals with fixed prices and pay-what-you-want minimums.
import { describe, expect, it } from "vitest";
import type { Price } from "../catalog/price";
import { addItem, checkoutItems, chooseAmount, parseStoredCart, removeItem, summarize, CART_ITEMS_MAX, type CartItem } from "./cart";

function line(item_id: string, price: Price) {
  return { item_kind: "release" as const, item_id, title: item_id, artist_name: "Artist", price };
}

const fixed = (price_cents: number): Price => ({ kind: "fixed", price_cents });
const payWhatYouWant = (minimum_cents: number, suggested_cents = minimum_cents): Price => ({ kind: "pay_what_you_want", minimum_cents, suggested_cents });

describe("summarize", () => {
  it("adds fixed prices and chosen amounts in integer cents", () => {
    let items = addItem([], line("a", fixed(999)));
    items = addItem(items, line("b", payWhatYouWant(500)));
    items = addItem(items, line("c", fixed(1)));
    items = chooseAmount(items, "b", 1205);
    expect(summarize(items)).toEqual({ total_cents: 999 + 1205 + 1, problems: [] });
  });

  it("starts pay-what-you-want at the suggestion, never below the minimum", () => {
    const items = addItem(addItem([], line("b", payWhatYouWant(700, 1000))), line("c", payWhatYouWant(700, 100)));
    expect(items.map((item) => item.chosen_amount_cents)).toEqual([1000, 700]);
    expect(summarize(items).total_cents).toBe(1700);
  });

  it("allows a zero minimum (name your price, free allowed)", () => {
    const items = addItem([], line("free", payWhatYouWant(0)));
    expect(summarize(items)).toEqual({ total_cents: 0, problems: [] });
  });

  it.each([
    [499, "Pay at least $5.00."],
    [-100, "Pay at least $5.00."],
    [Number.NaN, "Enter an amount in dollars and cents."],
    [12.5, "Enter an amount in dollars and cents."],
  ])("flags a chosen amount of %s below the minimum and leaves it out of the total", (chosen, message) => {
    let items = addItem([], line("a", fixed(1000)));
    items = addItem(items, line("b", payWhatYouWant(500)));
    items = chooseAmount(items, "b", chosen);
    expect(summarize(items)).toEqual({ total_cents: 1000, problems: [{ item_id: "b", message }] });
  });

  it("ignores a chosen amount on fixed-price items", () => {
    const items = chooseAmount(addItem([], line("a", fixed(1000))), "a", 1);
    expect(summarize(items).total_cents).toBe(1000);
  });
});

describe("cart edits", () => {
  it("adds an item once and removes it", () => {
    let items = addItem([], line("a", fixed(100)));
    items = addItem(items, line("a", fixed(100)));
    expect(items).toHaveLength(1);
    expect(removeItem(items, "a")).toEqual([]);
  });

  it("stops growing at the limit", () => {
    let items: CartItem[] = [];
    for (let index = 0; index <= CART_ITEMS_MAX; index += 1) items = addItem(items, line(`item-${index}`, fixed(100)));
    expect(items).toHaveLength(CART_ITEMS_MAX);
  });
});

describe("parseStoredCart", () => {
  it("round-trips a stored cart", () => {
    const items = chooseAmount(addItem(addItem([], line("a", fixed(100))), line("b", payWhatYouWant(50))), "b", 75);
    expect(parseStoredCart(JSON.stringify(items))).toEqual(items);
  });

  it.each([null, "", "not json", "{}", "42", '[{"item_id": 1}]', '[{"item_kind":"release","item_id":"a","title":"t","artist_name":"n","chosen_amount_cents":1,"price":{"kind":"fixed","price_cents":"1"}}]'])(
    "reads %j as an empty cart",
    (stored) => {
      expect(parseStoredCart(stored)).toEqual([]);
    },
  );
});

describe("checkoutItems", () => {
  it("names each item once and sends only pay-what-you-want amounts", () => {
    let items = addItem([], line("release-1", fixed(999)));
    items = addItem(items, { ...line("track-1", payWhatYouWant(100, 300)), item_kind: "track" });
    items = chooseAmount(items, "track-1", 450);
    expect(checkoutItems(items)).toEqual([
      { release_id: "release-1", amount_cents: null },
      { track_id: "track-1", amount_cents: 450 },
    ]);
  });
});
