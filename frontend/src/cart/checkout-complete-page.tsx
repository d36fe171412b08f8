//! Where the payment page sends the listener back (`/checkout/complete?order_id=…`). The order is
//! marked paid by the gateway's webhook, which may arrive a moment later, so this page asks again
//! until the order settles, then empties the bought items from the cart.
import { useEffect, useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { Link } from "../lib/router";
import { formatCents } from "../lib/money";
import { cart, session, useSession } from "../state";
import { removeItem } from "./cart";
import { messageOf } from "../lib/errors";

/** How often and how long to wait for the webhook before telling the listener to check later. */
const ORDER_POLL_INTERVAL_MS = 1_000;
const ORDER_POLL_ATTEMPTS_MAX = 30;

export function CheckoutCompletePage({ orderId }: { orderId: string }) {
  const state = useSession();
  const [order, setOrder] = useState<Schemas["OrderView"] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (state.status !== "signed_in" || orderId === "") return;
    let attempts = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      attempts += 1;
      try {
        const current = await dataOf(session.api.GET("/api/v1/orders/{id}", { params: { path: { id: orderId } } }));
        setOrder(current);
        if (current.status === "paid") {
          cart.set(current.lines.reduce((items, line) => removeItem(items, line.item.id), cart.value));
          return;
        }
        if (current.status !== "pending" || attempts >= ORDER_POLL_ATTEMPTS_MAX) return;
        timer = setTimeout(poll, ORDER_POLL_INTERVAL_MS);
      } catch (failure) {
        setError(messageOf(failure));
      }
    };
    void poll();
    return () => clearTimeout(timer);
  }, [orderId, state.status]);

  if (state.status === "restoring") return <p aria-live="polite">Loading…</p>;
  return (
    <section>
      <h1>Thank you</h1>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {order === null ? (
        <p aria-live="polite">Confirming your payment…</p>
      ) : (
        <>
          <p role="status" data-testid="order-status">
            {order.status === "paid"
              ? "Your payment went through: the music is in your library."
              : order.status === "pending"
                ? "Your payment is still being confirmed. It will appear in your library shortly."
                : `This order is ${order.status}.`}
          </p>
          <ul>
            {order.lines.map((line) => (
              <li key={line.item.id}>
                {line.title} — {formatCents(line.amount_cents)}
              </li>
            ))}
          </ul>
          <p>Total: {formatCents(order.total_cents)}</p>
        </>
      )}
      <p>
        <Link href="/library" class="button">
          Go to your library
        </Link>
      </p>
    </section>
  );
}
