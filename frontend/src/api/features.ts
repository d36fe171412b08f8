//! Each area of the app and the endpoints (DESIGN.md §11) it needs. An area whose endpoints are
//! not yet in the generated OpenAPI document renders a "coming soon" state instead.
import type { Endpoint } from "./availability";

export interface Feature {
  title: string;
  summary: string;
  endpoints: readonly Endpoint[];
}

function feature(title: string, summary: string, endpoints: readonly Endpoint[]): Feature {
  return { title, summary, endpoints };
}

export const FEATURES = {
  downloads: feature("Downloads", "Download what you own in the format you choose (FLAC, MP3, …) through a signed, expiring link.", [
    ["post", "/api/v1/library/{item}/download"],
  ]),
} satisfies Record<string, Feature>;
