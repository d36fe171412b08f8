//! Free music with the Megabox agent: the free-tier status, impressions and credits, pairing an
//! agent with a short code, and the paired devices (revocable).
import { useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { useLoad } from "../lib/use-load";
import { session, useSession } from "../state";

function formatTime(timestamp: string | null | undefined): string {
  return timestamp == null ? "—" : timestamp.replace("T", " ").slice(0, 16);
}

function Status() {
  const [status] = useLoad(() => dataOf(session.api.GET("/api/v1/installer/status")), []);
  const state = useSession();
  // The server streams for free when an agent is active or an operator switched the tier on
  // (the account's `agent_active`); the status endpoint reports only the agent.
  const operatorOverride = state.status === "signed_in" && state.me.agent_active;
  return (
    <LoadedView loaded={status}>
      {(loaded) => (
        <>
          <p class={loaded.agent_active || operatorOverride ? "status-pill status-good" : "status-pill"} data-testid="free-tier-status">
            Free streaming: {loaded.agent_active || operatorOverride ? "active" : "not active"}
          </p>
          <dl class="figures-list">
            <dt>Megabox ads seen today</dt>
            <dd>{loaded.impressions_today}</dd>
            <dt>Accepted in the last 7 days</dt>
            <dd>{loaded.accepted_impressions_7d}</dd>
            <dt>Download credits earned</dt>
            <dd>{loaded.credits_earned}</dd>
            <dt>Download credits available</dt>
            <dd data-testid="credits-available">{loaded.credits_available}</dd>
          </dl>
        </>
      )}
    </LoadedView>
  );
}

function Pairing({ onPaired }: { onPaired: () => void }) {
  const [code, setCode] = useState<Schemas["PairingCodeView"] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const createCode = async () => {
    try {
      setCode(await dataOf(session.api.POST("/api/v1/devices/pairing-codes")));
      setError(null);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };
  return (
    <div>
      <ol>
        <li>Install the Megabox agent on your computer.</li>
        <li>Get a pairing code here, then run the command it shows on that computer.</li>
        <li>Refresh this page: your device appears below.</li>
      </ol>
      <p class="release-actions">
        <button type="button" onClick={createCode}>
          {code === null ? "Get a pairing code" : "Get a new code"}
        </button>
        <button type="button" class="button-secondary" onClick={onPaired}>
          Refresh devices
        </button>
      </p>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
      {code === null ? null : (
        <div role="status" class="pairing-code">
          <p>
            Your code: <strong data-testid="pairing-code">{code.code}</strong>
          </p>
          <p>
            Run <code>megabox-agent pair {code.code}</code> before {formatTime(code.expires_at)} UTC.
          </p>
        </div>
      )}
    </div>
  );
}

function Devices({ devices, onChanged }: { devices: Schemas["DeviceView"][]; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const revoke = async (id: string) => {
    try {
      await dataOf(session.api.DELETE("/api/v1/devices/{id}", { params: { path: { id } } }));
      setError(null);
      onChanged();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };
  if (devices.length === 0) return <p>No devices paired yet.</p>;
  return (
    <>
      <div class="table-scroll">
        <table class="figures">
          <caption>Your devices</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Paired</th>
              <th scope="col">Last report</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((device) => (
              <tr key={device.id}>
                <td>
                  <code>{device.id.slice(0, 8)}</code>
                </td>
                <td>{formatTime(device.paired_at)}</td>
                <td>{formatTime(device.last_batch_at)}</td>
                <td>
                  {device.revoked_at == null ? (
                    <button type="button" class="button-secondary" onClick={() => revoke(device.id)}>
                      Revoke<span class="visually-hidden"> device {device.id.slice(0, 8)}</span>
                    </button>
                  ) : (
                    `Revoked ${formatTime(device.revoked_at)}`
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="error" role="alert" hidden={error === null}>
        {error}
      </p>
    </>
  );
}

export function InstallerPage() {
  const [devices, reloadDevices] = useLoad(() => dataOf(session.api.GET("/api/v1/devices")), []);
  return (
    <section>
      <h1>Free music with the agent</h1>
      <Status />
      <p>
        The Megabox agent runs on your computer and replaces a small share of the web ads you already see (at most one per page) with clearly labelled Megabox ads. While it
        is active you stream everything for free and earn download credits.
      </p>
      <ul>
        <li>Opt-in and visible: one click pauses it; uninstalling removes its keys and certificate.</li>
        <li>Local: nothing about your browsing leaves your machine — reports carry only which ad was seen, never a URL.</li>
        <li>Signed: each report is signed by a key that only your agent holds.</li>
      </ul>
      <h2>Pair an agent</h2>
      <Pairing onPaired={reloadDevices} />
      <h2>Devices</h2>
      <LoadedView loaded={devices}>{(list) => <Devices devices={list} onChanged={reloadDevices} />}</LoadedView>
    </section>
  );
}
