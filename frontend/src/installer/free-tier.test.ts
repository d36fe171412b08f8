//! The free tier's explanation follows the server's reason.
import { describe, expect, it } from "vitest";
import { freeTierExplanation, pairingCommand, previewReason } from "./free-tier";

describe("freeTierExplanation", () => {
  it.each([
    [{ active: true, reason: "operator" as const }, /support switched it on/],
    [{ active: true, reason: "agent_active" as const }, /agents showed enough/],
    // A reason this build does not know yet still says the tier is on.
    [{ active: true, reason: "promotion" as never }, /stream for free/],
    [{ active: true }, /stream for free/],
    [{ active: false, reason: null }, /turns on while a paired agent/],
    // The reason of an inactive tier is meaningless: the tier is off.
    [{ active: false, reason: "operator" as const }, /turns on while a paired agent/],
  ])("%j", (freeTier, expected) => {
    expect(freeTierExplanation(freeTier)).toMatch(expected);
  });
});

describe("pairingCommand", () => {
  it("names the server, which the agent cannot guess", () => {
    expect(pairingCommand("K7Q2-MX", "https://megabox.example")).toBe("megabox-agent pair K7Q2-MX --server https://megabox.example");
  });
});

describe("previewReason", () => {
  const listener = { signedIn: true, owned: false, ownMusic: false, freeTier: false };
  it("explains a preview and how to hear the rest", () => {
    expect(previewReason(listener)).toMatch(/not in your library and free streaming is off/);
    expect(previewReason({ ...listener, signedIn: false, freeTier: null })).toMatch(/Sign in/);
  });
  it("says nothing when the track plays in full, or before the free tier is known", () => {
    expect(previewReason({ ...listener, owned: true })).toBeNull();
    expect(previewReason({ ...listener, ownMusic: true })).toBeNull();
    expect(previewReason({ ...listener, freeTier: true })).toBeNull();
    expect(previewReason({ ...listener, freeTier: null })).toBeNull();
  });
});
