//! Which API endpoints exist, read from the committed OpenAPI document. Pages whose endpoints have
//! not landed on the server yet show a "coming soon" state instead of calling paths that 404.
import { paths as documentPaths } from "./openapi.json";

export type Method = "get" | "post" | "put" | "patch" | "delete";
export type Endpoint = readonly [Method, string];

const paths = documentPaths as Record<string, Partial<Record<Method, unknown>>>;

export function hasEndpoint([method, path]: Endpoint): boolean {
  return paths[path]?.[method] !== undefined;
}

export function missingEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  return endpoints.filter((endpoint) => !hasEndpoint(endpoint));
}
