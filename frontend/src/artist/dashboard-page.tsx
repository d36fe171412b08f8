//! The artist's overview: their releases in every state, and the way to everything else.
import { dataOf } from "../api/client";
import { LoadedView } from "../components/loading";
import { Link } from "../lib/router";
import { useLoad } from "../lib/use-load";
import { session, useSession } from "../state";
import { ProfileForm } from "./profile-form";

export function ArtistDashboardPage() {
  const state = useSession();
  const name = state.status === "signed_in" ? state.me.display_name : "";
  const [releases] = useLoad(() => dataOf(session.api.GET("/api/v1/releases")), []);
  return (
    <section>
      <h1>Dashboard</h1>
      <p>Welcome, {name}. You keep 90% of what your music earns, to the cent.</p>
      <p>
        <Link href="/artist/upload" class="button">
          New release
        </Link>
      </p>
      <h2>Your releases</h2>
      <LoadedView loaded={releases}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">Nothing yet: start a release and drop your audio files into it.</p>
          ) : (
            <ul class="card-grid" aria-label="Your releases">
              {list.map((release) => (
                <li class="card" key={release.id}>
                  <h3>
                    <Link href={`/artist/releases/${release.id}`}>{release.title ?? "Untitled draft"}</Link>
                  </h3>
                  <p class={release.state === "published" ? "status-pill status-good" : "status-pill"}>{release.state}</p>
                </li>
              ))}
            </ul>
          )
        }
      </LoadedView>
      <h2>Your artist profile</h2>
      <ProfileForm />
      <ul class="card-grid">
        <li class="card">
          <h2>
            <Link href="/artist/earnings">Earnings</Link>
          </h2>
          <p>Sales and ad revenue per period, plays, statements.</p>
        </li>
        <li class="card">
          <h2>
            <Link href="/artist/payouts">Payouts</Link>
          </h2>
          <p>Your payout account and transfers.</p>
        </li>
      </ul>
    </section>
  );
}
