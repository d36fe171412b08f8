//! Free music with the Megabox agent: the free-tier status, impressions and credits, spending a
//! credit on a track, pairing an agent with a short code, and the paired devices (revocable).
import { useEffect, useState } from "preact/hooks";
import { dataOf, type Schemas } from "../api/client";
import { LoadedView } from "../components/loading";
import { formatMinute } from "../lib/time";
import { useLoad } from "../lib/use-load";
import { credits, freeTier, session, useCredits } from "../state";
import { freeTierExplanation, pairingCommand } from "./free-tier";
import { RedeemCredits } from "./redeem";
import { CopyCommand } from "../components/copy-command";
import { messageOf } from "../lib/errors";

/**
 * A device's short name: the last group of its UUID. Not the first: ids are UUIDv7, whose
 * leading characters are a timestamp and shared by devices paired in the same minutes.
 */
function deviceLabel(id: string): string {
  return id.slice(id.lastIndexOf("-") + 1);
}

function Status() {
  const [status] = useLoad(async () => {
    const loaded = await dataOf(session.api.GET("/api/v1/installer/status"));
    credits.set(loaded.credits_available);
    freeTier.set(loaded.free_tier.active);
    return loaded;
  }, []);
  // Redeeming below changes the count; the shared store has the server's latest figure.
  const available = useCredits();
  return (
    <LoadedView loaded={status}>
      {(loaded) => (
        <>
          <p class={loaded.free_tier.active ? "status-pill status-good" : "status-pill"} data-testid="free-tier-status">
            Free streaming: {loaded.free_tier.active ? "active" : "not active"}
          </p>
          <p class="muted" data-testid="free-tier-reason">
            {freeTierExplanation(loaded.free_tier)}
          </p>
          <dl class="figures-list">
            <dt>Megabox ads seen today</dt>
            <dd data-testid="impressions-today">{loaded.impressions_today}</dd>
            <dt>Accepted in the last 7 days</dt>
            <dd data-testid="impressions-7d">{loaded.accepted_impressions_7d}</dd>
            <dt>Download credits earned</dt>
            <dd data-testid="credits-earned">{loaded.credits_earned}</dd>
            <dt>Download credits available</dt>
            <dd data-testid="credits-available">{available ?? loaded.credits_available}</dd>
          </dl>
        </>
      )}
    </LoadedView>
  );
}

/** Builds the agent from the workspace (no prebuilt download is served yet). */
const AGENT_INSTALL_COMMAND = "cargo install --locked --path ad-swap-agent";

/** How often the page asks for the device list while a pairing code waits for its agent. */
const PAIRING_POLL_INTERVAL_MS = 3_000;

function Pairing({ deviceCount, onPaired }: { deviceCount: number | null; onPaired: () => void }) {
  const [code, setCode] = useState<Schemas["PairingCodeView"] | null>(null);
  // The device count when the code was made: a larger count means the agent used it.
  const [devicesBefore, setDevicesBefore] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const paired = code !== null && deviceCount !== null && deviceCount > devicesBefore;
  useEffect(() => {
    if (code === null || paired) return;
    const expires_ms = Date.parse(code.expires_at);
    const timer = setInterval(() => {
      if (Date.now() > expires_ms) clearInterval(timer);
      else onPaired();
    }, PAIRING_POLL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [code, paired]);
  const createCode = async () => {
    try {
      setCode(await dataOf(session.api.POST("/api/v1/devices/pairing-codes")));
      // Devices not loaded yet: never claim a pairing, the list below still shows it.
      setDevicesBefore(deviceCount ?? Number.POSITIVE_INFINITY);
      setError(null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  };
  return (
    <div>
      <ol>
        <li>
          Install the Megabox agent, <code>megabox-agent</code>, on your computer. From a Megabox source checkout:
          <CopyCommand command={AGENT_INSTALL_COMMAND} label="the install command" />
        </li>
        <li>Get a pairing code here, then run the command it shows on that computer.</li>
        <li>Your device appears below as soon as the agent has used the code.</li>
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
          {paired ? (
            <p data-testid="pairing-result">Your agent is paired: it shows in your devices below.</p>
          ) : (
            <>
              <p>
                Your code: <strong data-testid="pairing-code">{code.code}</strong>
              </p>
              <p>
                On that computer, before {formatMinute(code.expires_at)} UTC, run the command below. This page is waiting for it.
              </p>
              <CopyCommand command={pairingCommand(code.code, window.location.origin)} label="the pairing command" />
            </>
          )}
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
      setError(messageOf(failure));
    }
  };
  if (devices.length === 0) return <p>No devices paired yet.</p>;
  return (
    <>
      <div class="table-scroll">
        <table class="figures stacked">
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
                <td data-label="Device">
                  <code>{deviceLabel(device.id)}</code>
                </td>
                <td data-label="Paired">{formatMinute(device.paired_at)}</td>
                <td data-label="Last report">{formatMinute(device.last_batch_at)}</td>
                <td data-label="State">
                  {device.revoked_at == null ? (
                    <button type="button" class="button-secondary" onClick={() => revoke(device.id)}>
                      Revoke<span class="visually-hidden"> device {deviceLabel(device.id)}</span>
                    </button>
                  ) : (
                    `Revoked ${formatMinute(device.revoked_at)}`
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
      <h2>Spend a credit</h2>
      <RedeemCredits />
      <h2>Pair an agent</h2>
      <Pairing deviceCount={devices.status === "ready" ? devices.data.length : null} onPaired={reloadDevices} />
      <h2>Devices</h2>
      <LoadedView loaded={devices}>{(list) => <Devices devices={list} onChanged={reloadDevices} />}</LoadedView>
    </section>
  );
}
