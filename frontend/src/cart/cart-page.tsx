//! The cart: review items, choose pay-what-you-want amounts, and check out in one session.
import { useState } from "preact/hooks";
import { dataOf } from "../api/client";
import { Link } from "../lib/router";
import { formatCents, parseCents } from "../lib/money";
import { cart, session, useCart, useSession } from "../state";
import { checkoutItems, chooseAmount, lineProblem, removeItem, summarize, type CartItem } from "./cart";
import { messageOf } from "../lib/errors";

function AmountInput({ item }: { item: CartItem }) {
  if (item.price.kind === "fixed") return <span>{formatCents(item.price.price_cents)}</span>;
  const id = `amount-${item.item_id}`;
  const problem = lineProblem(item);
  return (
    <div class="field field-inline">
      <label for={id}>Your price (at least {formatCents(item.price.minimum_cents)})</label>
      <input
        id={id}
        inputMode="decimal"
        defaultValue={formatCents(item.chosen_amount_cents).slice(1)}
        aria-invalid={problem !== null}
        aria-describedby={problem === null ? undefined : `${id}-problem`}
        onInput={(event) => {
          const amount_cents = parseCents((event.currentTarget as HTMLInputElement).value);
          cart.set(chooseAmount(cart.value, item.item_id, amount_cents ?? Number.NaN));
        }}
      />
      {problem === null ? null : (
        <p class="error" id={`${id}-problem`}>
          {problem}
        </p>
      )}
    </div>
  );
}

export function CartPage() {
  const items = useCart();
  const summary = summarize(items);
  const state = useSession();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const checkout = async () => {
    setPending(true);
    setError(null);
    try {
      const started = await dataOf(session.api.POST("/api/v1/checkout", { body: { items: checkoutItems(items) } }));
      // The payment page belongs to the gateway (or the test-mode page); it sends the listener back.
      window.location.assign(started.checkout_url);
    } catch (failure) {
      setError(messageOf(failure));
      setPending(false);
    }
  };

  if (items.length === 0) {
    return (
      <section>
        <h1>Cart</h1>
        <p>
          Your cart is empty. <Link href="/">Find something to buy</Link>.
        </p>
      </section>
    );
  }

  return (
    <section>
      <h1>Cart</h1>
      <ul class="cart-lines">
        {items.map((item) => (
          <li key={item.item_id}>
            <div>
              <strong>{item.title}</strong> <span class="muted">{item.artist_name}</span>
            </div>
            <AmountInput item={item} />
            <button type="button" class="button-secondary" aria-label={`Remove ${item.title}`} onClick={() => cart.set(removeItem(cart.value, item.item_id))}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <p class="cart-total">
        Total: <strong data-testid="cart-total">{formatCents(summary.total_cents)}</strong>
      </p>
      <p class="muted">90% of what you pay, after the card fee, goes to the artists.</p>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {state.status === "signed_in" ? (
        <button type="button" onClick={checkout} disabled={pending || summary.problems.length > 0}>
          {pending ? "Starting checkout…" : `Check out ${formatCents(summary.total_cents)}`}
        </button>
      ) : (
        <p>
          <Link href="/signin" class="button">
            Sign in to check out
          </Link>
        </p>
      )}
    </section>
  );
}
