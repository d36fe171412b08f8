//! The committed OpenAPI document (and so the generated types) must match what the server prints.
//! Skipped where cargo is not installed, so `npm test` still runs on a machine without Rust.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script without type declarations.
import { printServerDocument } from "../../scripts/generate-api.mjs";

function cargoIsAvailable(): boolean {
  try {
    execFileSync("cargo", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Building the server on a cold cache takes minutes on a small machine. */
const SERVER_BUILD_TIMEOUT_MS = 15 * 60 * 1000;

describe.skipIf(!cargoIsAvailable())("openapi.json", () => {
  it(
    "matches `megabox openapi`; run `npm run gen:api` when it does not",
    () => {
      const committed: unknown = JSON.parse(readFileSync(new URL("./openapi.json", import.meta.url), "utf8"));
      const printed: unknown = JSON.parse((printServerDocument as () => string)());
      expect(committed).toEqual(printed);
    },
    SERVER_BUILD_TIMEOUT_MS,
  );
});
