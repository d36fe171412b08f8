//! The demo accounts the sign-in page offers: the server lists them at `GET /api/v1/demo` only
//! when it runs the demo (`megabox serve --demo`) and answers 404 otherwise, so a real store
//! shows nothing.
import type { Schemas } from "../api/client";
import { apiError } from "./session";

export type DemoAccount = Schemas["DemoAccountView"];

type DemoAnswer = Promise<{ data?: Schemas["DemoView"]; error?: unknown; response: Response }>;

/** The demo accounts, or none when the server is not running the demo. */
export async function demoAccountsOf(request: DemoAnswer): Promise<DemoAccount[]> {
  const { data, error, response } = await request;
  if (response.status === 404) return [];
  if (!response.ok || data === undefined) throw apiError(response, error);
  return data.accounts;
}
