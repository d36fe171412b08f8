//! Campaign form parsing, the spend bar's share and where creative upload errors go.
import { describe, expect, it } from "vitest";
import { campaignFromForm, creativeErrorField, formatBasisPoints, nextStatuses, spentBasisPoints, type TypedCampaign } from "./campaign-form";

const typed = (change: Partial<TypedCampaign>): TypedCampaign => ({
  advertiser_id: "0190a0b0-0000-7000-8000-000000000001",
  name: "Spring sale",
  cpm: "2.50",
  budget: "1,000",
  starts_on: "2026-03-01",
  ends_on: "2026-03-31",
  ...change,
});

describe("campaignFromForm", () => {
  it("builds the request in cents with UTC day bounds, the last day included", () => {
    expect(campaignFromForm(typed({ name: "  Spring sale  " }))).toEqual({
      request: {
        advertiser_id: "0190a0b0-0000-7000-8000-000000000001",
        name: "Spring sale",
        cpm_cents: 250,
        budget_cents: 100_000,
        starts_at: "2026-03-01T00:00:00Z",
        ends_at: "2026-03-31T23:59:59Z",
      },
    });
  });

  it("allows a one-day campaign", () => {
    expect(campaignFromForm(typed({ ends_on: "2026-03-01" }))).toHaveProperty("request.ends_at", "2026-03-01T23:59:59Z");
  });

  it.each<[Partial<TypedCampaign>, keyof TypedCampaign]>([
    [{ advertiser_id: "" }, "advertiser_id"],
    [{ name: "   " }, "name"],
    [{ cpm: "0" }, "cpm"],
    [{ cpm: "2.505" }, "cpm"],
    [{ cpm: "-1" }, "cpm"],
    [{ budget: "" }, "budget"],
    [{ budget: "lots" }, "budget"],
    [{ starts_on: "" }, "starts_on"],
    [{ ends_on: "2026-02-28" }, "ends_on"],
  ])("refuses %j in the field %s", (change, field) => {
    const result = campaignFromForm(typed(change));
    expect(result).toHaveProperty("errors");
    expect(Object.keys((result as { errors: object }).errors)).toEqual([field]);
  });

  it("reports every wrong field at once", () => {
    const result = campaignFromForm(typed({ name: "", cpm: "", budget: "" }));
    expect(Object.keys((result as { errors: object }).errors).sort()).toEqual(["budget", "cpm", "name"]);
  });
});

describe("spentBasisPoints", () => {
  it.each<[number, number, number]>([
    [0, 10_000, 0],
    [2_500_000_000, 10_000, 2_500],
    // 1 µ¢ of $1 is far below a basis point: rounds down, never up.
    [1, 100, 0],
    [99_999_999, 100, 9_999],
    [100_000_000, 100, 10_000],
    // Overspent by a rounding margin still draws a full bar, not a longer one.
    [100_000_001, 100, 10_000],
    [5, 0, 0],
    [-5, 100, 0],
    // Beyond 2^53 when multiplied: exact with BigInt.
    [9_000_000_000_000_000, 10_000_000_000, 9_000],
  ])("%i µ¢ of %i ¢ → %i bp", (spent, budget, expected) => {
    expect(spentBasisPoints(spent, budget)).toBe(expected);
  });

  it("formats basis points as a percentage, truncated", () => {
    expect([0, 5, 1_234, 9_999, 10_000].map(formatBasisPoints)).toEqual(["0.0%", "0.0%", "12.3%", "99.9%", "100.0%"]);
  });
});

describe("nextStatuses", () => {
  it("offers pause or end while active, resume or end while paused, nothing once ended", () => {
    expect(nextStatuses("active")).toEqual(["paused", "ended"]);
    expect(nextStatuses("paused")).toEqual(["active", "ended"]);
    expect(nextStatuses("ended")).toEqual([]);
  });
});

describe("creativeErrorField", () => {
  const refusal = (status: number, code: string, message: string) => ({ status, code, message });
  it.each<[ReturnType<typeof refusal>, ReturnType<typeof creativeErrorField>]>([
    [refusal(422, "invalid_input", "invalid creative image: the image is 300x200, not 300x250"), "file"],
    [refusal(422, "invalid_input", "invalid creative image: not a PNG, JPEG or GIF file"), "file"],
    [refusal(413, "file_too_large", "files may be at most 153600 bytes"), "file"],
    [refusal(422, "missing_file", "send the audio as the multipart field `file`"), "file"],
    [refusal(422, "invalid_size", "size must look like 300x250"), "size"],
    [refusal(422, "invalid_input", "invalid input: 301x250 is not an accepted creative size"), "size"],
    [refusal(422, "invalid_input", "invalid input: link URL must use https"), "link_url"],
    [refusal(422, "invalid_input", "invalid input: headline must be 1 to 90 characters without control characters"), "headline"],
    [refusal(422, "invalid_input", "invalid input: body must be 0 to 200 characters without control characters"), "body"],
    [refusal(422, "invalid_input", "invalid input: the campaign has ended"), null],
    [refusal(404, "not_found", "campaign not found"), null],
  ])("%j → %s", (error, field) => {
    expect(creativeErrorField(error)).toBe(field);
  });
});
