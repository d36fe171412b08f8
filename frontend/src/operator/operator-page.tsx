//! The operator's console: what the server offers today (the free-tier switch), and the rest of
//! operations (campaigns, period close, payout runs, the ledger check) as they arrive.
import { useState } from "preact/hooks";
import { FEATURES } from "../api/features";
import { apiError } from "../auth/session";
import { ComingSoon } from "../components/coming-soon";
import { session } from "../state";

function FreeTierSwitch() {
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const id = String(form.get("user_id") ?? "").trim();
    const active = form.get("active") === "on";
    try {
      const { response, error } = await session.api.PUT("/api/v1/admin/users/{id}/agent-active", { params: { path: { id } }, body: { active } });
      if (!response.ok) throw apiError(response, error);
      setMessage({ error: false, text: `Free streaming is now ${active ? "on" : "off"} for ${id}.` });
    } catch (failure) {
      setMessage({ error: true, text: failure instanceof Error ? failure.message : String(failure) });
    }
  };
  return (
    <form onSubmit={onSubmit} aria-label="Free streaming tier" class="release-form">
      <p>Put an account on or off the free streaming tier by hand, for support cases.</p>
      <div class="field">
        <label for="user_id">Account id</label>
        <input id="user_id" name="user_id" required pattern="[0-9a-fA-F-]{36}" aria-describedby="user_id-hint" />
        <p class="hint" id="user_id-hint">
          The account's UUID.
        </p>
      </div>
      <fieldset>
        <legend>Free streaming</legend>
        <label class="choice">
          <input type="radio" name="active" value="on" checked /> On
        </label>
        <label class="choice">
          <input type="radio" name="active" value="off" /> Off
        </label>
      </fieldset>
      <p class={message?.error ? "error" : "muted"} role="status">
        {message?.text}
      </p>
      <button type="submit">Apply</button>
    </form>
  );
}

export function OperatorPage() {
  return (
    <>
      <section>
        <h1>Operator</h1>
        <h2>Free streaming tier</h2>
        <FreeTierSwitch />
      </section>
      <ComingSoon feature={FEATURES.operator} heading="h2" />
    </>
  );
}
