//! Spending download credits: the count follows the server, and refusals read as what to do.
import { describe, expect, it } from "vitest";
import { Credits, redemptionErrorMessage } from "./credits";

const TRACK_ID = "0190a0b0-0000-7000-8000-00000000000a";

function answer(status: number, body: unknown) {
  const response = new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  return Promise.resolve(response.ok ? { data: body as never, response } : { error: body, response });
}

const refusal = (code: string, message = "server words") => ({ error: { code, message } });

describe("Credits.redeem", () => {
  it("takes the count the server answers and sends the track id", async () => {
    const credits = new Credits();
    credits.set(3);
    const sent: string[] = [];
    const outcome = await credits.redeem(TRACK_ID, (trackId) => {
      sent.push(trackId);
      return answer(201, { redemption_id: "r1", track_id: trackId, credits_available: 1 });
    });
    expect(sent).toEqual([TRACK_ID]);
    expect(outcome).toEqual({ ok: true, redemption: { redemption_id: "r1", track_id: TRACK_ID, credits_available: 1 } });
    // The server's figure wins over counting down locally (another tab may have spent one).
    expect(credits.available.value).toBe(1);
  });

  it("drops a stale count to zero when the server says there are no credits", async () => {
    const credits = new Credits();
    credits.set(2);
    const outcome = await credits.redeem(TRACK_ID, () => answer(409, refusal("no_credits")));
    expect(outcome).toEqual({ ok: false, message: redemptionErrorMessage({ status: 409, code: "no_credits", message: "" }) });
    expect(credits.available.value).toBe(0);
  });

  it("keeps the count when the refusal spent nothing for another reason", async () => {
    const credits = new Credits();
    credits.set(2);
    const outcome = await credits.redeem(TRACK_ID, () => answer(409, refusal("already_owned")));
    expect(outcome).toEqual({ ok: false, message: "This track is already in your library, so no credit was spent." });
    expect(credits.available.value).toBe(2);
  });

  it("says nothing was spent when the request never arrived", async () => {
    const credits = new Credits();
    credits.set(1);
    const outcome = await credits.redeem(TRACK_ID, () => Promise.reject(new TypeError("Failed to fetch")));
    expect(outcome.ok).toBe(false);
    expect(credits.available.value).toBe(1);
  });

  it("notifies subscribers and forgets the count on clear", () => {
    const credits = new Credits();
    const seen: (number | null)[] = [];
    credits.available.subscribe((value) => seen.push(value));
    credits.set(4);
    credits.clear();
    expect(seen).toEqual([4, null]);
  });
});

describe("redemptionErrorMessage", () => {
  it.each([
    [{ status: 409, code: "no_credits", message: "x" }, /no download credits left/],
    [{ status: 409, code: "own_track", message: "x" }, /other artists' music/],
    [{ status: 404, code: "not_found", message: "track not found" }, /not in the store/],
    [{ status: 422, code: "invalid_id", message: "track id is not a UUID" }, /^Track id is not a UUID\.$/],
  ])("%j", (error, expected) => {
    expect(redemptionErrorMessage(error)).toMatch(expected);
  });
});
