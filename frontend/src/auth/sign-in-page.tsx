//! Sign in with email and password.
import { useState } from "preact/hooks";
import { ErrorMessage, Field } from "../components/form";
import { Link, navigate } from "../lib/router";
import { session } from "../state";
import { landingPathFor } from "./landing";
import { messageOf } from "../lib/errors";

export function SignInPage() {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

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
      <form onSubmit={onSubmit} aria-busy={pending}>
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
    </section>
  );
}
