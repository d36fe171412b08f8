//! The session against a fake auth server that rotates refresh tokens like the real one:
//! each refresh token works once, and presenting a spent one revokes the whole login.
import { describe, expect, it } from "vitest";
import { REFRESH_TOKEN_STORAGE_KEY, Session, type TokenStorage } from "./session";

const BASE_URL = "http://megabox.test";

class MemoryStorage implements TokenStorage {
  readonly values = new Map<string, string>();
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
  removeItem(key: string) {
    this.values.delete(key);
  }
}

/** A fake server with one account; records every request it sees. */
class FakeServer {
  private sequence = 0;
  readonly validAccessTokens = new Set<string>();
  readonly liveRefreshTokens = new Set<string>();
  readonly spentRefreshTokens = new Set<string>();
  readonly requests: { path: string; authorization: string | null; body: string }[] = [];
  failNetworkOnRefresh = false;

  issuePair() {
    this.sequence += 1;
    const pair = { access_token: `access-${this.sequence}`, refresh_token: `refresh-${this.sequence}`, token_type: "Bearer", expires_in: 900 };
    this.validAccessTokens.add(pair.access_token);
    this.liveRefreshTokens.add(pair.refresh_token);
    return pair;
  }

  expireAccessTokens() {
    this.validAccessTokens.clear();
  }

  count(path: string) {
    return this.requests.filter((request) => request.path === path).length;
  }

  fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const body = await request.text();
    const authorization = request.headers.get("Authorization");
    this.requests.push({ path, authorization, body });
    // Let concurrent callers interleave like real network calls do.
    await new Promise((resolve) => setTimeout(resolve, 1));
    switch (path) {
      case "/api/v1/auth/login":
        return json(200, this.issuePair());
      case "/api/v1/auth/refresh": {
        if (this.failNetworkOnRefresh) throw new TypeError("network down");
        const { refresh_token } = JSON.parse(body) as { refresh_token: string };
        if (!this.liveRefreshTokens.delete(refresh_token)) {
          if (this.spentRefreshTokens.has(refresh_token)) this.liveRefreshTokens.clear();
          return json(401, { error: { code: "invalid_refresh_token", message: "no" } });
        }
        this.spentRefreshTokens.add(refresh_token);
        return json(200, this.issuePair());
      }
      case "/api/v1/auth/logout": {
        this.liveRefreshTokens.clear();
        return new Response(null, { status: 204 });
      }
      default: {
        const token = authorization?.replace(/^Bearer /, "") ?? "";
        if (!this.validAccessTokens.has(token)) return json(401, { error: { code: "unauthorized", message: "no" } });
        if (path === "/api/v1/me") {
          return json(200, { id: "0190", email: "a@example.com", display_name: "A", role: "listener", agent_active: false, created_at: "2026-11-21T00:00:00Z" });
        }
        return json(200, { echoed: body });
      }
    }
  };
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

async function signedInSession() {
  const server = new FakeServer();
  const storage = new MemoryStorage();
  const session = new Session(server.fetch, storage, BASE_URL);
  await session.login({ email: "a@example.com", password: "correct horse battery" });
  return { server, storage, session };
}

function callApi(session: Session, body = "") {
  return session.authorizedFetch(new Request(`${BASE_URL}/api/v1/anything`, { method: "POST", body }));
}

describe("Session", () => {
  it("keeps the access token in memory and only the refresh token in storage", async () => {
    const { storage, session } = await signedInSession();
    expect(session.state.status).toBe("signed_in");
    expect(session.me?.email).toBe("a@example.com");
    expect([...storage.values.entries()]).toEqual([[REFRESH_TOKEN_STORAGE_KEY, "refresh-1"]]);
    expect(session.currentAccessToken()).toBe("access-1");
  });

  it("refreshes once on 401, stores the rotated refresh token and retries with the same body", async () => {
    const { server, storage, session } = await signedInSession();
    server.expireAccessTokens();
    const response = await callApi(session, "payload");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ echoed: "payload" });
    expect(server.count("/api/v1/auth/refresh")).toBe(1);
    expect(storage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBe("refresh-2");
    expect(server.requests.at(-1)?.authorization).toBe("Bearer access-2");
  });

  it("shares one refresh among concurrent 401s, so the rotated token is never reused", async () => {
    const { server, session } = await signedInSession();
    server.expireAccessTokens();
    const responses = await Promise.all([callApi(session), callApi(session), callApi(session), callApi(session)]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(server.count("/api/v1/auth/refresh")).toBe(1);
    expect(server.spentRefreshTokens.size).toBe(1);
    expect(session.state.status).toBe("signed_in");
  });

  it("refreshes again for a later expiry with the newest token", async () => {
    const { server, session, storage } = await signedInSession();
    server.expireAccessTokens();
    await callApi(session);
    server.expireAccessTokens();
    expect((await callApi(session)).status).toBe(200);
    expect(server.count("/api/v1/auth/refresh")).toBe(2);
    expect(storage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBe("refresh-3");
  });

  it("signs out when the refresh token is rejected, without retrying in a loop", async () => {
    const { server, storage, session } = await signedInSession();
    server.expireAccessTokens();
    server.liveRefreshTokens.clear();
    const response = await callApi(session);
    expect(response.status).toBe(401);
    expect(server.count("/api/v1/auth/refresh")).toBe(1);
    expect(server.count("/api/v1/anything")).toBe(1);
    expect(storage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBeNull();
    expect(session.state.status).toBe("anonymous");
    expect(session.currentAccessToken()).toBeNull();
  });

  it("retries only once when the retried call is refused too", async () => {
    const server = new FakeServer();
    // The server refuses this path even with a fresh token (e.g. for a role it does not allow).
    const refusing = async (request: Request) =>
      new URL(request.url).pathname === "/api/v1/anything" ? json(401, { error: { code: "unauthorized", message: "no" } }) : server.fetch(request);
    const session = new Session(refusing, new MemoryStorage(), BASE_URL);
    await session.login({ email: "a@example.com", password: "x" });
    expect((await callApi(session)).status).toBe(401);
    expect(server.count("/api/v1/auth/refresh")).toBe(1);
    expect(session.state.status).toBe("signed_in");
  });

  it("keeps the refresh token when the network fails during a refresh", async () => {
    const { server, storage, session } = await signedInSession();
    server.expireAccessTokens();
    server.failNetworkOnRefresh = true;
    expect((await callApi(session)).status).toBe(401);
    expect(storage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBe("refresh-1");
    server.failNetworkOnRefresh = false;
    expect((await callApi(session)).status).toBe(200);
  });

  it("does not forget a newer token that another tab stored while this refresh failed", async () => {
    const { server, storage, session } = await signedInSession();
    const original = server.fetch;
    server.fetch = async (request) => {
      // Another tab rotates the token while this tab's refresh is on the wire with the old one.
      if (new URL(request.url).pathname === "/api/v1/auth/refresh") {
        storage.setItem(REFRESH_TOKEN_STORAGE_KEY, "refresh-from-other-tab");
        server.liveRefreshTokens.clear();
      }
      return original(request);
    };
    const thisTab = new Session(server.fetch, storage, BASE_URL);
    expect(await thisTab.refresh()).toBe(false);
    expect(storage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBe("refresh-from-other-tab");
    expect(session.state.status).toBe("signed_in");
  });

  it("logs out on the server and forgets everything locally", async () => {
    const { server, storage, session } = await signedInSession();
    const states: string[] = [];
    session.subscribe((state) => states.push(state.status));
    await session.logout();
    expect(JSON.parse(server.requests.at(-1)?.body ?? "{}")).toEqual({ refresh_token: "refresh-1" });
    expect(storage.values.size).toBe(0);
    expect(states).toEqual(["anonymous"]);
    await callApi(session);
    expect(server.requests.at(-1)?.authorization).toBeNull();
    expect(server.count("/api/v1/auth/refresh")).toBe(0);
  });

  it("restores a session from a stored refresh token", async () => {
    const { server, storage } = await signedInSession();
    const reloaded = new Session(server.fetch, storage, BASE_URL);
    await reloaded.restore();
    expect(reloaded.state.status).toBe("signed_in");
    expect(storage.getItem(REFRESH_TOKEN_STORAGE_KEY)).toBe("refresh-2");
  });

  it("restores to anonymous without a request when nothing is stored, and clears a revoked token", async () => {
    const server = new FakeServer();
    const empty = new Session(server.fetch, new MemoryStorage(), BASE_URL);
    await empty.restore();
    expect(empty.state.status).toBe("anonymous");
    expect(server.requests).toEqual([]);

    const storage = new MemoryStorage();
    storage.setItem(REFRESH_TOKEN_STORAGE_KEY, "refresh-stolen-and-revoked");
    const revoked = new Session(server.fetch, storage, BASE_URL);
    await revoked.restore();
    expect(revoked.state.status).toBe("anonymous");
    expect(storage.values.size).toBe(0);
  });

  it("reports the server's error code when sign-in fails", async () => {
    const refuse = async () => json(401, { error: { code: "invalid_credentials", message: "Wrong email or password." } });
    const session = new Session(refuse, new MemoryStorage(), BASE_URL);
    await expect(session.login({ email: "a@example.com", password: "nope" })).rejects.toMatchObject({
      status: 401,
      code: "invalid_credentials",
      message: "Wrong email or password.",
    });
    expect(session.state.status).toBe("restoring");
  });
});
