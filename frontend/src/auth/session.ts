//! The signed-in session: the access token lives only in memory, the refresh token in
//! localStorage so a reload stays signed in. Every API call goes through `authorizedFetch`, which
//! on a 401 refreshes once and retries once. Refresh tokens rotate (each works once, and reusing
//! a spent one revokes the whole login), so concurrent 401s share a single refresh request.
import createClient from "openapi-fetch";
import type { components, paths } from "../api/schema";

export type Me = components["schemas"]["Me"];
export type Role = components["schemas"]["Role"];
export type RegisterRequest = components["schemas"]["RegisterRequest"];
export type LoginRequest = components["schemas"]["LoginRequest"];
type TokenPair = components["schemas"]["TokenPair"];

export type SessionState =
  | { status: "restoring" }
  | { status: "anonymous" }
  | { status: "signed_in"; me: Me };

/** The slice of `localStorage` the session uses; tests pass a Map-backed one. */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type Fetch = (request: Request) => Promise<Response>;

export const REFRESH_TOKEN_STORAGE_KEY = "megabox.refresh_token";

/** A failed API call, carrying the server's stable error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns an openapi-fetch error body (`{"error": {"code", "message"}}` or anything else) into an ApiError. */
export function apiError(response: Response, body: unknown): ApiError {
  const detail = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof detail?.code === "string" ? detail.code : "http_" + response.status;
  const message = typeof detail?.message === "string" ? detail.message : `The server answered ${response.status}.`;
  return new ApiError(response.status, code, message);
}

export class Session {
  private accessToken: string | null = null;
  private refreshInFlight: Promise<boolean> | null = null;
  private listeners = new Set<(state: SessionState) => void>();
  private current: SessionState = { status: "restoring" };
  private readonly publicClient;
  /** The typed client every module calls the API through. */
  readonly api;

  constructor(
    private readonly fetchFunction: Fetch,
    private readonly storage: TokenStorage,
    baseUrl: string,
  ) {
    this.publicClient = createClient<paths>({ baseUrl, fetch: fetchFunction });
    this.api = createClient<paths>({ baseUrl, fetch: this.authorizedFetch });
  }

  get state(): SessionState {
    return this.current;
  }

  get me(): Me | null {
    return this.current.status === "signed_in" ? this.current.me : null;
  }

  /** The in-memory access token, for requests that cannot go through `authorizedFetch` (XHR uploads). */
  currentAccessToken(): string | null {
    return this.accessToken;
  }

  subscribe(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** On page load: trade a stored refresh token for a session, or become anonymous. */
  async restore(): Promise<void> {
    try {
      if (this.storage.getItem(REFRESH_TOKEN_STORAGE_KEY) !== null && (await this.refresh())) {
        await this.loadMe();
        return;
      }
    } catch {
      // The server is unreachable or failing: stay anonymous for now but keep the refresh token.
    }
    this.setState({ status: "anonymous" });
  }

  async register(request: RegisterRequest): Promise<void> {
    const { data, error, response } = await this.publicClient.POST("/api/v1/auth/register", { body: request });
    if (data === undefined) throw apiError(response, error);
    await this.signIn(data);
  }

  async login(request: LoginRequest): Promise<void> {
    const { data, error, response } = await this.publicClient.POST("/api/v1/auth/login", { body: request });
    if (data === undefined) throw apiError(response, error);
    await this.signIn(data);
  }

  /** Ends the login on the server (best effort) and always forgets it here. */
  async logout(): Promise<void> {
    const refresh_token = this.storage.getItem(REFRESH_TOKEN_STORAGE_KEY);
    this.forget();
    if (refresh_token !== null) {
      await this.publicClient.POST("/api/v1/auth/logout", { body: { refresh_token } }).catch(() => undefined);
    }
  }

  /**
   * Exchanges the stored refresh token for a new pair. Callers that arrive while a refresh is in
   * flight share it: sending the same refresh token twice would count as reuse and end the login.
   */
  refresh(): Promise<boolean> {
    this.refreshInFlight ??= this.refreshOnce().finally(() => {
      this.refreshInFlight = null;
    });
    return this.refreshInFlight;
  }

  /** fetch for the typed API client: adds the bearer token, and on 401 refreshes once and retries once. */
  authorizedFetch: Fetch = async (request) => {
    const retry = request.clone();
    const tokenUsed = this.accessToken;
    const response = await this.fetchFunction(this.withToken(request, tokenUsed));
    if (response.status !== 401 || this.storage.getItem(REFRESH_TOKEN_STORAGE_KEY) === null) return response;
    // Another call may already have refreshed while this one was in flight.
    const refreshed = this.accessToken !== tokenUsed || (await this.refresh());
    if (!refreshed) return response;
    return this.fetchFunction(this.withToken(retry, this.accessToken));
  };

  private withToken(request: Request, token: string | null): Request {
    if (token === null) return request;
    const headers = new Headers(request.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return new Request(request, { headers });
  }

  private async refreshOnce(): Promise<boolean> {
    const refresh_token = this.storage.getItem(REFRESH_TOKEN_STORAGE_KEY);
    if (refresh_token === null) return false;
    try {
      const { data } = await this.publicClient.POST("/api/v1/auth/refresh", { body: { refresh_token } });
      if (data === undefined) {
        // Only forget the token this attempt spent: another tab may have stored a newer one.
        if (this.storage.getItem(REFRESH_TOKEN_STORAGE_KEY) === refresh_token) this.forget();
        return false;
      }
      this.keepTokens(data);
      return true;
    } catch {
      // A network failure says nothing about the token: keep it for the next attempt.
      return false;
    }
  }

  private async signIn(tokens: TokenPair): Promise<void> {
    this.keepTokens(tokens);
    await this.loadMe();
  }

  private async loadMe(): Promise<void> {
    const { data, error, response } = await this.api.GET("/api/v1/me");
    if (data !== undefined) {
      this.setState({ status: "signed_in", me: data });
      return;
    }
    if (response.status === 401) {
      this.forget();
      return;
    }
    throw apiError(response, error);
  }

  private keepTokens(tokens: TokenPair): void {
    this.accessToken = tokens.access_token;
    this.storage.setItem(REFRESH_TOKEN_STORAGE_KEY, tokens.refresh_token);
  }

  private forget(): void {
    this.accessToken = null;
    this.storage.removeItem(REFRESH_TOKEN_STORAGE_KEY);
    this.setState({ status: "anonymous" });
  }

  private setState(state: SessionState): void {
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
}
