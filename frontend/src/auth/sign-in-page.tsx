//! Sign in with email and password; while the server runs the demo, its accounts are offered
//! with a button that fills the form.
import { useRef, useState } from "preact/hooks";
import { ErrorMessage, Field } from "../components/form";
import { Link, navigate } from "../lib/router";
import { session } from "../state";
import { landingPathFor } from "./landing";
import { messageOf } from "../lib/errors";
import { useLoad } from "../lib/use-load";
import { type DemoAccount, demoAccountsOf } from "./demo-accounts";

export function SignInPage() {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const formElement = useRef<HTMLFormElement>(null);
  const [demo] = useLoad(() => demoAccountsOf(session.api.GET("/api/v1/demo")), []);

  const useAccount = (account: DemoAccount) => {
    const form = formElement.current;
    if (form === null) return;
    (form.elements.namedItem("email") as HTMLInputElement).value = account.email;
    (form.elements.namedItem("password") as HTMLInputElement).value = account.password;
    (form.elements.namedItem("email") as HTMLInputElement).focus();
  };

  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setPending(true);
    setError(null);
    try {
      await session.login({ email: String(form.get("email")), password: String(form.get("password")) });
      navigate(landingPathFor(session.me?.role));
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setPending(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      <form ref={formElement} onSubmit={onSubmit} aria-busy={pending}>
        <Field id="email" label="Email" type="email" autocomplete="email" required />
        <Field id="password" label="Password" type="password" autocomplete="current-password" required />
        <ErrorMessage message={error} />
        <button type="submit" disabled={pending}>
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        New here? <Link href="/signup">Create an account</Link>.
      </p>
      {demo.status === "ready" && demo.data.length > 0 ? (
        <DemoAccounts accounts={demo.data} onUse={useAccount} />
      ) : null}
    </section>
  );
}

function DemoAccounts({ accounts, onUse }: { accounts: DemoAccount[]; onUse: (account: DemoAccount) => void }) {
  return (
    <section class="demo-accounts" aria-labelledby="demo-accounts-heading">
      <h2 id="demo-accounts-heading">Demo accounts</h2>
      <p>This is a demo in test mode: no real payments. Every account's password is shown.</p>
      <ul>
        {accounts.map((account) => (
          <li key={account.email}>
            <p>
              <strong>{account.display_name}</strong> ({account.role}) — {account.email}
            </p>
            <p class="hint">{account.try_this}</p>
            <button type="button" onClick={() => onUse(account)}>
              Use this account
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
