//! Every error code the server can answer has words in the web app, and no internal id reaches people.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ApiError } from "../auth/session";
import { DETAILED_CODES, ERROR_TEXT, humanize, messageOf } from "./errors";

const storeSource = fileURLToPath(new URL("../../../store/src", import.meta.url));

function rustFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return rustFiles(full);
    return entry.name.endsWith(".rs") ? [full] : [];
  });
}

/** The codes the server's source passes to `ApiError` (directly, or as a `(status, code)` pair). */
function serverErrorCodes(): Set<string> {
  const codes = new Set<string>();
  const patterns = [/ApiError::(?:new|bad_request|unauthorized|conflict|invalid)\(\s*(?:[A-Za-z_:]+\s*,\s*)?"([a-z_]+)"/g, /\(\s*StatusCode::[A-Z_]+\s*,\s*"([a-z_]+)"\s*\)/g];
  for (const file of rustFiles(storeSource)) {
    const source = readFileSync(file, "utf8");
    for (const pattern of patterns) for (const match of source.matchAll(pattern)) codes.add(match[1]!);
  }
  return codes;
}

describe.skipIf(!existsSync(storeSource))("error codes", () => {
  it("finds the server's codes (the scan itself works)", () => {
    const codes = serverErrorCodes();
    for (const known of ["invalid_credentials", "not_found", "rate_limited", "internal", "not_publishable", "flagged_device", "link_expired"]) expect(codes).toContain(known);
  });

  it("has text for every code the server can answer", () => {
    const missing = [...serverErrorCodes()].filter((code) => ERROR_TEXT[code] === undefined && !DETAILED_CODES.has(code));
    expect(missing).toEqual([]);
  });
});

describe("messageOf", () => {
  it("writes the sign-in failure as a sentence", () => {
    expect(messageOf(new ApiError(401, "invalid_credentials", "wrong email or password"))).toBe("Wrong email or password.");
  });

  it("names a track by its title instead of its id", () => {
    const id = "01962f3a-8b1c-7d2e-9f00-123456789abc";
    const error = new ApiError(422, "not_publishable", `the release cannot be published: the release has no price; track ${id} has no price`);
    expect(messageOf(error, new Map([[id, "High Water"]]))).toBe("The release cannot be published: the release has no price; track “High Water” has no price.");
    expect(messageOf(error)).toBe("The release cannot be published: the release has no price; a track has no price.");
  });

  it("never shows an id it cannot name", () => {
    expect(humanize("the amount offered for release:01962f3a-8b1c-7d2e-9f00-123456789abc is not accepted")).toBe("The amount offered for a release is not accepted.");
    expect(messageOf(new ApiError(418, "brand_new_code", "device 01962f3a-8b1c-7d2e-9f00-123456789abc is odd"))).toBe("A device is odd.");
  });

  it("tells a lost connection from a bug", () => {
    expect(messageOf(new TypeError("Failed to fetch"))).toBe("Megabox could not be reached. Check your connection and try again.");
    expect(messageOf(new TypeError("x is undefined"))).toBe("X is undefined.");
  });
});
