//! The sign-in page offers demo accounts only when the server answers 200 at `/api/v1/demo`.
import { describe, expect, it } from "vitest";
import { demoAccountsOf } from "./demo-accounts";

const LISTENER = {
  role: "listener" as const,
  email: "listener@demo.megabox.test",
  password: "megabox-demo-password",
  display_name: "Demo listener",
  try_this: "play full tracks",
};

function answer(status: number, body: unknown) {
  const response = new Response(JSON.stringify(body), { status });
  return Promise.resolve(status === 200 ? { data: body as never, response } : { error: body, response });
}

describe("demoAccountsOf", () => {
  it("lists the accounts in demo mode", async () => {
    expect(await demoAccountsOf(answer(200, { accounts: [LISTENER] }))).toEqual([LISTENER]);
  });

  it("offers nothing when the server is not running the demo", async () => {
    const notDemo = { error: { code: "not_found", message: "this server is not running the demo" } };
    expect(await demoAccountsOf(answer(404, notDemo))).toEqual([]);
  });

  it("reports any other failure", async () => {
    const failure = { error: { code: "internal", message: "boom" } };
    await expect(demoAccountsOf(answer(500, failure))).rejects.toMatchObject({ status: 500 });
  });
});
