//! Input patterns compile the way Chrome compiles them (the `v` flag) and match what they should.
import { describe, expect, it } from "vitest";
import { UUID_PATTERN } from "./patterns";

describe("UUID_PATTERN", () => {
  it("is a valid v-flag pattern, anchored as the browser anchors it", () => {
    const compiled = new RegExp(`^(?:${UUID_PATTERN})$`, "v");
    expect(compiled.test("01962f3a-8b1c-7d2e-9f00-123456789abc")).toBe(true);
    expect(compiled.test("------------------------------------")).toBe(false);
    expect(compiled.test("not-a-uuid")).toBe(false);
  });

  it("the old pattern was what Chrome rejected", () => {
    expect(() => new RegExp("^(?:[0-9a-fA-F-]{36})$", "v")).toThrow();
  });
});
