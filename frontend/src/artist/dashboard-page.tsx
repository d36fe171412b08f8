//! The artist's overview: their releases and the way to everything else.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";
import { Link } from "../lib/router";
import { useSession } from "../state";

export function ArtistDashboardPage() {
  const state = useSession();
  const name = state.status === "signed_in" ? state.me.display_name : "";
  return (
    <>
      <section>
        <h1>Dashboard</h1>
        <p>Welcome, {name}. You keep 90% of what your music earns, to the cent.</p>
        <ul class="card-grid">
          <li class="card">
            <h2>
              <Link href="/artist/upload">Upload a release</Link>
            </h2>
            <p>Drop your audio files; tags, artwork and loudness are read for you.</p>
          </li>
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
      <ComingSoon feature={FEATURES.upload} heading="h2" />
    </>
  );
}
