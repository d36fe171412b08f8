//! The artist's payouts: the payout account they go to (set up with the payment provider) and
//! every transfer with its state.
import { useState } from "preact/hooks";
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { formatCents } from "../lib/money";
import { useLoad } from "../lib/use-load";
import { formatMinute } from "../lib/time";
import { session } from "../state";
import { messageOf } from "../lib/errors";

const ACCOUNT_STATUS_TEXT: Record<string, string> = {
  none: "Not set up yet: payouts wait until you connect an account.",
  pending: "Being checked by the payment provider.",
  ready: "Ready: payouts go to this account.",
  disabled: "Disabled by the payment provider: finish the setup to receive payouts again.",
};

function PayoutAccount() {
  const [account] = useLoad(() => dataOf(session.api.GET("/api/v1/artist/payout-account")), []);
  const [error, setError] = useState<string | null>(null);
  const startOnboarding = async () => {
    try {
      const onboarding = await dataOf(session.api.POST("/api/v1/artist/payout-account"));
      window.location.assign(onboarding.onboarding_url);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <LoadedView loaded={account}>
      {({ status }) => (
        <div>
          <p class={status === "ready" ? "status-pill status-good" : "status-pill"} data-testid="payout-account-status">
            {status}
          </p>
          <p>{ACCOUNT_STATUS_TEXT[status] ?? status}</p>
          {status === "ready" ? null : (
            <button type="button" onClick={startOnboarding}>
              {status === "none" ? "Set up payouts" : "Continue the setup"}
            </button>
          )}
          <p class="error" role="alert" hidden={error === null}>
            {error}
          </p>
        </div>
      )}
    </LoadedView>
  );
}

export function PayoutsPage() {
  const [payouts] = useLoad(() => dataOf(session.api.GET("/api/v1/artist/payouts")), []);
  return (
    <>
      <section>
        <h1>Payouts</h1>
        <p>Each closed month, a balance above the payout threshold is transferred to your payout account once, exactly once.</p>
        <h2>Payout account</h2>
        <PayoutAccount />
        <h2>History</h2>
        <LoadedView loaded={payouts}>
          {(list) =>
            list.length === 0 ? (
              <p>No payouts yet.</p>
            ) : (
              <div class="table-scroll">
                <table class="figures stacked">
                  <caption>Payout history</caption>
                  <thead>
                    <tr>
                      <th scope="col">Created</th>
                      <th scope="col" class="amount">
                        Amount
                      </th>
                      <th scope="col">State</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Last error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((payout) => (
                      <tr key={payout.id}>
                        <td data-label="Created">{formatMinute(payout.created_at)}</td>
                        <td class="amount" data-label="Amount">{formatCents(payout.amount_cents)}</td>
                        <td data-label="State">{payout.status}</td>
                        <td data-label="Attempts">{payout.attempts}</td>
                        <td data-label="Last error">{payout.last_error ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </LoadedView>
      </section>
    </>
  );
}
