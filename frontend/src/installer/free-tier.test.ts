//! The free tier's explanation follows the server's reason.
import { describe, expect, it } from "vitest";
import { freeTierExplanation } from "./free-tier";

describe("freeTierExplanation", () => {
  it.each([
    [{ active: true, reason: "operator" }, /support switched it on/],
    [{ active: true, reason: "agent_active" }, /agents showed enough/],
    // A reason this build does not know yet still says the tier is on.
    [{ active: true, reason: "promotion" }, /stream for free/],
    [{ active: true }, /stream for free/],
    [{ active: false, reason: null }, /turns on while a paired agent/],
    // The reason of an inactive tier is meaningless: the tier is off.
    [{ active: false, reason: "operator" }, /turns on while a paired agent/],
  ])("%j", (freeTier, expected) => {
    expect(freeTierExplanation(freeTier)).toMatch(expected);
  });
});
