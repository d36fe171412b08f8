//! The operator's console: period close, payout runs, the ledger check, the free-tier switch,
//! advertising (advertisers, campaigns, creatives) and flagged devices and accounts.
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { apiError } from "../auth/session";
import { formatCents, formatMicroCents } from "../lib/money";
import { session } from "../state";
import { Advertising } from "./advertising";
import { Flags } from "./flags";
import { messageOf } from "../lib/errors";
import { UUID_PATTERN } from "../lib/patterns";
import { ConfirmSubmit, useConfirmation } from "../components/confirm";

/** The month before the current one, in the API's `YYYY-MM` form: the one usually being closed. */
function previousMonth(today: Date): string {
  const month = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
  return month.toISOString().slice(0, 7);
}

function PeriodClose() {
  const [result, setResult] = useState<Schemas["PeriodCloseView"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const confirmation = useConfirmation();
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!confirmation.confirming) {
      confirmation.ask();
      return;
    }
    confirmation.done();
    const period = String(new FormData(event.currentTarget as HTMLFormElement).get("period") ?? "");
    try {
      setResult(await dataOf(session.api.POST("/api/v1/admin/periods/{period}/close", { params: { path: { period } } })));
      setError(null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <form onSubmit={onSubmit} aria-label="Close a period" class="release-form">
      <p>Allocates the month's ad revenue to artists. Closing twice changes nothing; later events go to the next month.</p>
      <div class="field field-inline">
        <label for="period">Month</label>
        <input id="period" name="period" type="month" required defaultValue={previousMonth(new Date())} />
      </div>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      <ConfirmSubmit
        label="Close the month"
        confirmLabel="Close and allocate"
        question="The month's ad revenue will be allocated to artists; later events go to the next month."
        confirming={confirmation.confirming}
        onCancel={confirmation.done}
      />
      {result === null ? null : (
        <div role="status">
        <dl class="figures-list">
          <dt>Month</dt>
          <dd>
            {result.period} ({result.model.replaceAll("_", "-")}){result.already_closed ? " — was already closed, nothing changed" : ""}
          </dd>
          <dt>Ad revenue</dt>
          <dd>{formatMicroCents(result.ad_revenue_micro_cents)}</dd>
          <dt>Pool</dt>
          <dd>{formatCents(result.pool_cents)}</dd>
          <dt>To artists</dt>
          <dd>
            {formatCents(result.artists_total_cents)} across {result.artists_allocated} artists
          </dd>
          <dt>Platform</dt>
          <dd>{formatCents(result.platform_cents)}</dd>
          <dt>Carried to next month</dt>
          <dd>{formatMicroCents(result.carried_micro_cents)}</dd>
        </dl>
        </div>
      )}
    </form>
  );
}

function LedgerCheck() {
  const [result, setResult] = useState<Schemas["LedgerVerificationView"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const verify = async () => {
    try {
      setResult(await dataOf(session.api.GET("/api/v1/admin/ledger/verify")));
      setError(null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <div>
      <p>Proves the ledger's invariants: every transaction sums to zero, artists got 90% of net to the cent, payouts never exceed balances.</p>
      <button type="button" onClick={verify}>
        Verify the ledger
      </button>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {result === null ? null : (
        <div role="status">
          <p class={result.ok ? "status-pill status-good" : "status-pill status-bad"} data-testid="ledger-result">
            {result.ok ? "Ledger verified" : "Ledger check failed"}
          </p>
          {result.violation == null ? null : <p class="error">{result.violation}</p>}
          <p class="muted">
            {result.transactions} transactions, {result.lines} lines, {result.accounts} accounts, {result.artist_periods} artist-months, {result.closed_periods} closed months.
          </p>
        </div>
      )}
    </div>
  );
}

function PayoutRun() {
  const [result, setResult] = useState<Schemas["PayoutRunView"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const confirmation = useConfirmation();
  const run = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!confirmation.confirming) {
      confirmation.ask();
      return;
    }
    confirmation.done();
    try {
      setResult(await dataOf(session.api.POST("/api/v1/admin/payouts/run")));
      setError(null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <form onSubmit={run} aria-label="Run payouts" class="release-form">
      <p>Pays every artist whose balance reached the threshold and whose payout account is ready: one transfer each, even across crashes and re-runs.</p>
      <ConfirmSubmit
        label="Run payouts"
        confirmLabel="Pay out now"
        question="Money will be transferred to every artist who is due a payout."
        confirming={confirmation.confirming}
        onCancel={confirmation.done}
      />
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {result === null ? null : (
        <p role="status" data-testid="payout-run-result">
          {result.created} created, {result.posted} posted, {result.voided} voided, {result.still_pending} still pending, {result.debts_recovered} debts recovered.
        </p>
      )}
    </form>
  );
}

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
      setMessage({ error: true, text: messageOf(failure) });
    }
  };
  return (
    <form onSubmit={onSubmit} aria-label="Free streaming tier" class="release-form">
      <p>Put an account on or off the free streaming tier by hand, for support cases.</p>
      <div class="field">
        <label for="user_id">Account id</label>
        <input id="user_id" name="user_id" required pattern={UUID_PATTERN} aria-describedby="user_id-hint" />
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
        <h2>Close a month</h2>
        <PeriodClose />
        <h2>Payouts</h2>
        <PayoutRun />
        <h2>Ledger</h2>
        <LedgerCheck />
        <h2>Free streaming tier</h2>
        <FreeTierSwitch />
        <h2>Advertising</h2>
        <Advertising />
        <h2>Flags</h2>
        <Flags />
      </section>
    </>
  );
}
