//! The cart: review items, choose pay-what-you-want amounts, and check out in one session.
import { hasEndpoint } from "../api/availability";
import { FEATURES } from "../api/features";
import { Link } from "../lib/router";
import { formatCents, parseCents } from "../lib/money";
import { cart, useCart } from "../state";
import { chooseAmount, lineProblem, removeItem, summarize, type CartItem } from "./cart";

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
  const checkoutAvailable = FEATURES.checkout.endpoints.every(hasEndpoint);

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
      <p class="release-actions">
        <button type="button" disabled={!checkoutAvailable || summary.problems.length > 0}>
          Check out
        </button>
        {checkoutAvailable ? null : <span class="status-pill">Checkout is coming soon</span>}
      </p>
    </section>
  );
}
