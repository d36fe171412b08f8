//! The artist's money per period: sales against ad shares and plays as charts (with the same
//! figures in a table), and each period's statement as JSON on screen or as a CSV download.
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { apiError } from "../auth/session";
import { BarChart } from "../charts/bar-chart";
import { LoadedView } from "../components/loading";
import { formatCents } from "../lib/money";
import { useLoad } from "../lib/use-load";
import { formatMinute } from "../lib/time";
import { session } from "../state";
import { messageOf } from "../lib/errors";
import { lineKind, lineReference } from "./statement-lines";

/** Colours with at least 3:1 contrast against the page, told apart by more than hue in the legend. */
const SALES_COLOR = "#5b21b6";
const AD_SHARES_COLOR = "#0f766e";
const PLAYS_COLOR = "#9a3412";

function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/** Fetches the CSV with the session's token and hands it to the browser as a file. */
async function downloadStatementCsv(period: string) {
  const request = new Request(`${window.location.origin}/api/v1/artist/statements/${encodeURIComponent(period)}?format=csv`);
  const response = await session.authorizedFetch(request);
  if (!response.ok) throw apiError(response, await response.json().catch(() => undefined));
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `megabox-statement-${period}.csv`;
  link.click();
  URL.revokeObjectURL(url);
}

function Statement({ period }: { period: string }) {
  const [statement] = useLoad(
    async () =>
      // The document lists only the CSV body for 200 (two 200 responses collapse into one), so
      // the JSON body is typed here with the generated StatementView it refers to.
      (await dataOf(session.api.GET("/api/v1/artist/statements/{period}", { params: { path: { period }, query: { format: "json" } }, parseAs: "json" }))) as Schemas["StatementView"],
    [period],
  );
  return (
    <LoadedView loaded={statement}>
      {(loaded) => (
        <div class="table-scroll">
        <table class="figures stacked">
          <caption>Statement for {loaded.period}</caption>
          <thead>
            <tr>
              <th scope="col">Booked</th>
              <th scope="col">Kind</th>
              <th scope="col">For</th>
              <th scope="col" class="amount">
                Amount
              </th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td colSpan={3}>Opening balance</td>
              <td class="amount">{formatCents(loaded.opening_balance_cents)}</td>
            </tr>
            {loaded.lines.map((line) => (
              <tr key={`${line.source_id}-${line.kind}-${line.booked_at}`}>
                <td data-label="Booked">{formatMinute(line.booked_at)}</td>
                <td data-label="Kind">{lineKind(line)}</td>
                <td data-label="For">{lineReference(line)}</td>
                <td class="amount" data-label="Amount">{formatCents(line.amount_cents)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row" colSpan={3}>
                Closing balance
              </th>
              <td class="amount">{formatCents(loaded.closing_balance_cents)}</td>
            </tr>
          </tbody>
        </table>
        </div>
      )}
    </LoadedView>
  );
}

function Earnings({ periods }: { periods: Schemas["PeriodEarningsView"][] }) {
  const [shownPeriod, setShownPeriod] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (periods.length === 0) {
    return <p>No earnings yet. Sales, ad shares and plays appear here per month once your music is bought or played.</p>;
  }
  const categories = periods.map((period) => period.period);
  const download = (period: string) => {
    downloadStatementCsv(period).then(
      () => setError(null),
      (failure: unknown) => setError(messageOf(failure)),
    );
  };
  return (
    <>
      <BarChart
        title="Sales and ad shares per month"
        categories={categories}
        series={[
          { label: "Sales", color: SALES_COLOR, values: periods.map((period) => period.sales_cents) },
          { label: "Ad shares", color: AD_SHARES_COLOR, values: periods.map((period) => period.ad_shares_cents) },
        ]}
        formatValue={formatCents}
      />
      <BarChart title="Plays per month" categories={categories} series={[{ label: "Plays", color: PLAYS_COLOR, values: periods.map((period) => period.plays) }]} formatValue={formatCount} />
      <div class="table-scroll">
      <table class="figures stacked">
        <caption>Per month</caption>
        <thead>
          <tr>
            <th scope="col">Month</th>
            <th scope="col" class="amount">
              Sales
            </th>
            <th scope="col" class="amount">
              Refunds
            </th>
            <th scope="col" class="amount">
              Ad shares
            </th>
            <th scope="col" class="amount">
              Paid out
            </th>
            <th scope="col" class="amount">
              Plays
            </th>
            <th scope="col">Statement</th>
          </tr>
        </thead>
        <tbody>
          {periods.map((period) => (
            <tr key={period.period}>
              <th scope="row">{period.period}</th>
              <td class="amount" data-label="Sales">{formatCents(period.sales_cents)}</td>
              <td class="amount" data-label="Refunds">{formatCents(period.refunds_cents)}</td>
              <td class="amount" data-label="Ad shares">{formatCents(period.ad_shares_cents)}</td>
              <td class="amount" data-label="Paid out">{formatCents(period.payouts_cents)}</td>
              <td class="amount" data-label="Plays">{formatCount(period.plays)}</td>
              <td class="row-actions">
                <button type="button" class="button-secondary" onClick={() => setShownPeriod(period.period)}>
                  Show<span class="visually-hidden"> the {period.period} statement</span>
                </button>
                <button type="button" class="button-secondary" onClick={() => download(period.period)}>
                  CSV<span class="visually-hidden"> of the {period.period} statement</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {shownPeriod === null ? null : <Statement period={shownPeriod} />}
    </>
  );
}

export function EarningsPage() {
  const [earnings] = useLoad(() => dataOf(session.api.GET("/api/v1/artist/earnings")), []);
  return (
    <section>
      <h1>Earnings</h1>
      <p>You keep 90% of every sale after the card fee, and 90% of the ad revenue your plays earn, to the cent.</p>
      <LoadedView loaded={earnings}>{(periods) => <Earnings periods={periods} />}</LoadedView>
    </section>
  );
}
