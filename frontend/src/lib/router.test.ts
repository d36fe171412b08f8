//! Route matching.
import { describe, expect, it } from "vitest";
import { matchRoute } from "./router";

describe("matchRoute", () => {
  it.each([
    ["/", "/", {}],
    ["/releases/:id", "/releases/0190abc", { id: "0190abc" }],
    ["/releases/:id", "/releases/0190abc/", { id: "0190abc" }],
    ["/artist/releases/:id/edit", "/artist/releases/r%201/edit", { id: "r 1" }],
    ["/releases/:id", "/releases", null],
    ["/releases/:id", "/releases/a/b", null],
    ["/releases/:id", "/artists/a", null],
    ["/releases/:id", "/releases/%E0%A4%A", null],
  ])("%s against %s", (pattern, path, expected) => {
    expect(matchRoute(pattern, path)).toEqual(expected);
  });
});
