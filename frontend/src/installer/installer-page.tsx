//! Free music with the Megabox agent: the free-tier status, how the agent works, and (once the
//! server offers it) pairing, devices, impressions and credits.
import { FEATURES } from "../api/features";
import { ComingSoon } from "../components/coming-soon";
import { useSession } from "../state";

export function InstallerPage() {
  const state = useSession();
  const active = state.status === "signed_in" && state.me.agent_active;
  return (
    <>
      <section>
        <h1>Free music with the agent</h1>
        <p class={active ? "status-pill status-good" : "status-pill"} data-testid="free-tier-status">
          Free streaming: {active ? "active" : "not active"}
        </p>
        <p>
          The Megabox agent runs on your computer and replaces a small share of the web ads you already see (at most one per page) with clearly labelled Megabox
          ads. While it is active you stream everything for free and earn download credits.
        </p>
        <ul>
          <li>Opt-in and visible: one click pauses it; uninstalling removes its keys and certificate.</li>
          <li>Local: nothing about your browsing leaves your machine — reports carry only which ad was seen, never a URL.</li>
          <li>Signed: each report is signed by a key that only your agent holds.</li>
        </ul>
      </section>
      <ComingSoon feature={FEATURES.devices} heading="h2" />
    </>
  );
}
