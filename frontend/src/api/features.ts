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
  checkout: feature("Checkout", "One checkout for the whole cart, so the card fee is paid once.", [["post", "/api/v1/checkout"]]),
  library: feature("Library", "Everything you bought, to stream in full or download in the format you choose.", [
    ["get", "/api/v1/library"],
    ["post", "/api/v1/library/{item}/download"],
  ]),
  payoutAccount: feature("Payout account", "Connect the account your payouts go to, and see whether it is ready.", [["post", "/api/v1/artist/payout-account"]]),
  devices: feature("Free music with the agent", "Pair the Megabox agent, see your devices, impressions and download credits.", [
    ["post", "/api/v1/devices/pairing-codes"],
    ["get", "/api/v1/devices"],
  ]),
  operations: feature("Campaigns and payout runs", "Advertising campaigns, payout runs and flagged devices.", [
    ["get", "/api/v1/admin/campaigns"],
    ["post", "/api/v1/admin/payouts/run"],
  ]),
} satisfies Record<string, Feature>;
