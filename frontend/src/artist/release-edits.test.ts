//! The release editor's one Save: only edited fields are sent, and a mistake is named by its track.
import { describe, expect, it } from "vitest";
import type { Schemas } from "../api/client";
import { isEmptyPlan, planSave } from "./release-edits";

const detail: Schemas["ReleaseDetailView"] = {
  artist_name: "Ada Artist",
  release: { id: "r1", artist_id: "a1", kind: "ep", state: "draft", credits: "", created_at: "2026-01-01T00:00:00Z", title: "Harbour Lights", price: null, release_date: null },
  tracks: [
    { id: "t1", release_id: "r1", position: 0, title: "Low Tide", credits: "", duration_ms: 3000, price: null },
    { id: "t2", release_id: "r1", position: 1, title: "High Water", credits: "", duration_ms: 4000, price: { kind: "fixed", price_cents: 129 } },
  ],
  tags: ["ambient", "folk"],
};

describe("planSave", () => {
  it("sends nothing when nothing was edited, so an untouched empty price is no error", () => {
    const plan = planSave(detail, {}, {});
    expect(plan).toEqual({ release: null, tracks: [] });
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it("sends tags only when the set changed, normalised, and refuses too many", () => {
    expect(planSave(detail, { tags: "Folk, ambient" }, {})).toEqual({ release: null, tracks: [] });
    expect(planSave(detail, { tags: "Folk, drone " }, {})).toEqual({ release: { tags: ["folk", "drone"] }, tracks: [] });
    expect(planSave(detail, { tags: "" }, {})).toEqual({ release: { tags: [] }, tracks: [] });
    expect(planSave(detail, { tags: Array.from({ length: 11 }, (_, index) => `t${index}`).join(",") }, {})).toEqual({ error: "Tags: A release has at most 10 tags." });
  });

  it("keeps the stored kind unless it was changed", () => {
    expect(planSave(detail, { title: "Harbour Lights (deluxe)" }, {})).toEqual({ release: { title: "Harbour Lights (deluxe)" }, tracks: [] });
    expect(planSave(detail, { kind: "ep" }, {})).toEqual({ release: null, tracks: [] });
    expect(planSave(detail, { kind: "single" }, {})).toEqual({ release: { kind: "single" }, tracks: [] });
  });

  it("sends each edited track once, and only the fields that differ", () => {
    const plan = planSave(detail, {}, { t1: { price: { price: { kind: "fixed", price_cents: 99 } } }, t2: { title: "High Water", price: { price: { kind: "fixed", price_cents: 129 } } } });
    expect(plan).toEqual({ release: null, tracks: [{ id: "t1", title: "Low Tide", body: { price: { kind: "fixed", price_cents: 99 } } }] });
  });

  it("names the track whose price is wrong, by its title", () => {
    const plan = planSave(detail, {}, { t2: { price: { error: "Enter a price above $0.00, like 9.99." } } });
    expect(plan).toEqual({ error: "Track 2 (High Water): Enter a price above $0.00, like 9.99." });
  });

  it("refuses an emptied title and clears an emptied date", () => {
    expect(planSave(detail, {}, { t1: { title: "  " } })).toEqual({ error: "Track 1 (Low Tide) needs a title." });
    expect(planSave(detail, { title: "" }, {})).toEqual({ error: "The release needs a title." });
    const dated = { ...detail, release: { ...detail.release, release_date: "2026-02-01" } };
    expect(planSave(dated, { release_date: "" }, {})).toEqual({ release: { release_date: null }, tracks: [] });
  });
});
