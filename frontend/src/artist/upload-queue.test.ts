//! The upload queue: name order, one at a time, and per-file errors that do not stop the rest.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeRequest } from "./fake-request.test-support";
import { UploadQueue } from "./upload-queue";

const session = { currentAccessToken: () => "token", refresh: async () => false };

function file(name: string) {
  return new File(["0123456789"], name);
}

async function settled(queue: UploadQueue) {
  await vi.waitFor(() => {
    if (queue.entries.value.some((entry) => entry.status === "queued" || entry.status === "uploading" || entry.status === "analysing")) throw new Error("still uploading");
  });
}

describe("UploadQueue", () => {
  beforeEach(() => vi.stubGlobal("XMLHttpRequest", FakeRequest));
  afterEach(() => vi.unstubAllGlobals());

  it("uploads in natural name order, one at a time", async () => {
    FakeRequest.reset([
      { status: 201, body: "{}" },
      { status: 201, body: "{}" },
      { status: 201, body: "{}" },
    ]);
    let uploaded = 0;
    const queue = new UploadQueue(session, "/api/v1/releases/r/tracks", () => (uploaded += 1));
    queue.add([file("10 Coda.wav"), file("2 Verse.wav"), file("1 Intro.wav")]);
    await settled(queue);
    expect(FakeRequest.sent.map((sent) => sent.fileName)).toEqual(["1 Intro.wav", "2 Verse.wav", "10 Coda.wav"]);
    expect(FakeRequest.inFlightMax).toBe(1);
    expect(uploaded).toBe(3);
    expect(queue.entries.value.map((entry) => [entry.file_name, entry.status, entry.loaded_bytes])).toEqual([
      ["1 Intro.wav", "done", 10],
      ["2 Verse.wav", "done", 10],
      ["10 Coda.wav", "done", 10],
    ]);
  });

  it("reports each file's own error and carries on with the rest", async () => {
    FakeRequest.reset([
      { status: 422, body: '{"error":{"code":"unsupported_format","message":"unsupported format: text file"}}' },
      "network_error",
      { status: 201, body: "{}" },
    ]);
    let uploaded = 0;
    const queue = new UploadQueue(session, "/api/v1/releases/r/tracks", () => (uploaded += 1));
    queue.add([file("a.txt"), file("b.wav"), file("c.wav")]);
    await settled(queue);
    expect(queue.entries.value.map((entry) => [entry.file_name, entry.status, entry.error])).toEqual([
      ["a.txt", "failed", "This file format is not supported. Upload FLAC, WAV, AIFF, MP3, Ogg or M4A."],
      ["b.wav", "failed", "The upload failed: the connection was lost."],
      ["c.wav", "done", null],
    ]);
    expect(uploaded).toBe(1);
  });

  it("keeps earlier entries when more files are dropped later", async () => {
    FakeRequest.reset([
      { status: 201, body: "{}" },
      { status: 413, body: "<html>too large</html>" },
    ]);
    const queue = new UploadQueue(session, "/api/v1/releases/r/tracks", () => undefined);
    queue.add([file("first.wav")]);
    queue.add([file("second.wav")]);
    await settled(queue);
    expect(queue.entries.value.map((entry) => [entry.file_name, entry.status, entry.error])).toEqual([
      ["first.wav", "done", null],
      ["second.wav", "failed", "This file is too large to upload."],
    ]);
  });
});
