//! Create a listener or artist account.
import { useState } from "preact/hooks";
import { ErrorMessage, Field } from "../components/form";
import { Link, navigate } from "../lib/router";
import { session } from "../state";
import { landingPathFor } from "./landing";
import { messageOf } from "../lib/errors";

/** Mirrors the server's rule so people learn it before submitting; the server still decides. */
const PASSWORD_LENGTH_MIN = 10;

export function SignUpPage() {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setPending(true);
    setError(null);
    try {
      await session.register({
        email: String(form.get("email")),
        display_name: String(form.get("display_name")),
        password: String(form.get("password")),
        role: form.get("role") === "artist" ? "artist" : "listener",
      });
      navigate(landingPathFor(session.me?.role));
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setPending(false);
    }
  };

  return (
    <section class="narrow">
      <h1>Create an account</h1>
      <form onSubmit={onSubmit} aria-busy={pending}>
        <fieldset>
          <legend>I am joining as</legend>
          <label class="choice">
            <input type="radio" name="role" value="listener" checked /> A listener — buy music, stream for free with the agent
          </label>
          <label class="choice">
            <input type="radio" name="role" value="artist" /> An artist — publish music and keep 90% of the revenue
          </label>
        </fieldset>
        <Field id="display_name" label="Display name" autocomplete="nickname" required maxLength={80} />
        <Field id="email" label="Email" type="email" autocomplete="email" required />
        <Field
          id="password"
          label="Password"
          type="password"
          autocomplete="new-password"
          required
          minLength={PASSWORD_LENGTH_MIN}
          hint={`At least ${PASSWORD_LENGTH_MIN} characters.`}
        />
        <ErrorMessage message={error} />
        <button type="submit" disabled={pending}>
          {pending ? "Creating…" : "Create account"}
        </button>
      </form>
      <p>
        Already have an account? <Link href="/signin">Sign in</Link>.
      </p>
    </section>
  );
}
