//! Small helpers around the typed client's answers, so pages read `await dataOf(session.api.GET(…))`.
import { apiError } from "../auth/session";
import type { components } from "./schema";

export type Schemas = components["schemas"];

/** The body of a successful answer; anything else becomes an ApiError with the server's message. */
export async function dataOf<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  if (!response.ok || data === undefined) throw apiError(response, error);
  return data;
}
