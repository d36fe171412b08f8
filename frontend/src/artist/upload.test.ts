//! Uploads through a fake XMLHttpRequest: progress, the token, and one refresh-and-retry on 401.
import { describe, expect, it } from "vitest";
import { FakeRequest } from "./fake-request.test-support";
import { progressPercent, uploadFile, type UploadSession } from "./upload";

function fakeSession(tokens: string[], refreshSucceeds = true): UploadSession & { refreshes: number } {
  let current = 0;
  return {
    refreshes: 0,
    currentAccessToken: () => tokens[current] ?? null,
    async refresh() {
      this.refreshes += 1;
      if (refreshSucceeds) current += 1;
      return refreshSucceeds;
    },
  };
}

function run(session: UploadSession, answers: typeof FakeRequest.answers) {
  FakeRequest.reset(answers);
  const progress: [number, number][] = [];
  const file = new File(["0123456789"], "01 Intro.flac");
  const result = uploadFile(session, "/api/v1/releases/r1/tracks", file, (loaded, total) => progress.push([loaded, total]), () => new FakeRequest() as unknown as XMLHttpRequest);
  return { result, progress };
}

describe("uploadFile", () => {
  it("sends the file as the `file` part with the bearer token and reports progress", async () => {
    const { result, progress } = run(fakeSession(["a1"]), [{ status: 201, body: '{"track":{"title":"Intro"}}' }]);
    expect(await result).toEqual({ status: 201, body: { track: { title: "Intro" } } });
    expect(FakeRequest.sent).toEqual([{ url: "/api/v1/releases/r1/tracks", authorization: "Bearer a1", fileName: "01 Intro.flac" }]);
    expect(progress).toEqual([
      [5, 10],
      [10, 10],
    ]);
  });

  it("refreshes once on 401 and retries with the new token", async () => {
    const session = fakeSession(["a1", "a2"]);
    const { result } = run(session, [
      { status: 401, body: "{}" },
      { status: 201, body: "{}" },
    ]);
    expect((await result).status).toBe(201);
    expect(session.refreshes).toBe(1);
    expect(FakeRequest.sent.map((sent) => sent.authorization)).toEqual(["Bearer a1", "Bearer a2"]);
  });

  it("gives up after one retry", async () => {
    const session = fakeSession(["a1", "a2"]);
    const { result } = run(session, [
      { status: 401, body: "{}" },
      { status: 401, body: "{}" },
    ]);
    expect((await result).status).toBe(401);
    expect(FakeRequest.sent).toHaveLength(2);
  });

  it("does not retry when the refresh fails", async () => {
    const session = fakeSession(["a1"], false);
    const { result } = run(session, [{ status: 401, body: "{}" }]);
    expect((await result).status).toBe(401);
    expect(FakeRequest.sent).toHaveLength(1);
  });

  it("passes per-file errors through and survives a non-JSON body", async () => {
    const { result } = run(fakeSession(["a1"]), [{ status: 422, body: '{"error":{"code":"unsupported_format","message":"not audio"}}' }]);
    expect(await result).toEqual({ status: 422, body: { error: { code: "unsupported_format", message: "not audio" } } });
    const { result: proxied } = run(fakeSession(["a1"]), [{ status: 413, body: "<html>Too large</html>" }]);
    expect(await proxied).toEqual({ status: 413, body: null });
  });

  it("rejects when the connection is lost", async () => {
    const { result } = run(fakeSession(["a1"]), ["network_error"]);
    await expect(result).rejects.toThrow("connection was lost");
  });
});

describe("progressPercent", () => {
  it.each([
    [0, 100, 0],
    [50, 100, 50],
    [999, 1000, 99],
    [1000, 1000, 100],
    [2000, 1000, 100],
    [10, 0, 0],
    [Number.NaN, 10, 0],
  ])("%i of %i bytes → %i%", (loaded, total, expected) => {
    expect(progressPercent(loaded, total)).toBe(expected);
  });
});
