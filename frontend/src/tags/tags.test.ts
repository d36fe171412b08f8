import { describe, expect, it } from "vitest";
import { parseTagsInput, tagPath } from "./tags";

describe("parseTagsInput", () => {
  it("normalises as the server does and keeps each tag once", () => {
    expect(parseTagsInput(" Ambient , LO-FI,,ambient ")).toEqual({ tags: ["ambient", "lo-fi"] });
    expect(parseTagsInput("")).toEqual({ tags: [] });
  });

  it("refuses more than 10 tags and tags longer than 40 characters", () => {
    const eleven = Array.from({ length: 11 }, (_, index) => `tag${index}`).join(",");
    expect(parseTagsInput(eleven)).toHaveProperty("error");
    expect(parseTagsInput("x".repeat(41))).toHaveProperty("error");
    expect(parseTagsInput("x".repeat(40))).toEqual({ tags: ["x".repeat(40)] });
  });
});

describe("tagPath", () => {
  it("escapes the tag", () => {
    expect(tagPath("hip hop/rap")).toBe("/tags/hip%20hop%2Frap");
  });
});
