//! Statement lines name releases and tracks by title, never by id.
import { describe, expect, it } from "vitest";
import { lineKind, lineReference } from "./statement-lines";

const id = "01962f3a-8b1c-7d2e-9f00-123456789abc";

describe("lineReference", () => {
  it("uses the title the server sends", () => {
    expect(lineReference({ kind: "sale", source_ref: `release:${id}`, title: "Harbour Lights" })).toBe("Harbour Lights");
  });

  it("never shows an id, even without a title", () => {
    expect(lineReference({ kind: "sale", source_ref: `track:${id}`, title: null })).toBe("A track no longer in your catalog");
    expect(lineReference({ kind: "payout", source_ref: id })).toBe("");
    expect(lineReference({ kind: "ad_allocation", source_ref: "2026-01" })).toBe("2026-01");
  });
});

describe("lineKind", () => {
  it("has words for ledger kinds", () => {
    expect(lineKind({ kind: "ad_allocation" })).toBe("Ad share");
    expect(lineKind({ kind: "something_new" as never })).toBe("something new");
  });
});
