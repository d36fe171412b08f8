//! The artist's payouts: every transfer with its state, and (once the server offers it) the
//! payout account they go to.
import { hasEndpoint } from "../api/availability";
import { dataOf } from "../api/client";
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";
import { LoadedView } from "../components/loading";
import { formatCents } from "../lib/money";
import { useLoad } from "../lib/use-load";
import { session } from "../state";

export function PayoutsPage() {
  const [payouts] = useLoad(() => dataOf(session.api.GET("/api/v1/artist/payouts")), []);
  return (
    <>
      <section>
        <h1>Payouts</h1>
        <p>Each closed month, a balance above the payout threshold is transferred to your payout account once, exactly once.</p>
        <LoadedView loaded={payouts}>
          {(list) =>
            list.length === 0 ? (
              <p>No payouts yet.</p>
            ) : (
              <div class="table-scroll">
                <table class="figures">
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
                        <td>{payout.created_at.replace("T", " ").slice(0, 16)}</td>
                        <td class="amount">{formatCents(payout.amount_cents)}</td>
                        <td>{payout.status}</td>
                        <td>{payout.attempts}</td>
                        <td>{payout.last_error ?? ""}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </LoadedView>
      </section>
      {FEATURES.payoutAccount.endpoints.every(hasEndpoint) ? null : <ComingSoon feature={FEATURES.payoutAccount} heading="h2" />}
    </>
  );
}
