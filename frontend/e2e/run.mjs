//! End-to-end run of the web app in Chromium against a real `megabox serve`: starts the server on
//! a free port with a temporary data directory, walks the flows that exist, saves a screenshot per
//! step into artifacts/e2e/, and prints `N passed, N failed` as its last line (exit 1 on failure).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { TestAgent } from "./agent.mjs";

const frontendDirectory = fileURLToPath(new URL("..", import.meta.url));
const distDirectory = path.join(frontendDirectory, "dist");
const artifactsDirectory = path.resolve(frontendDirectory, "..", "artifacts", "e2e");
const megaboxBinary = path.resolve(frontendDirectory, process.env.MEGABOX_BIN ?? "../target/debug/megabox");
const chromiumBinary = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** axe findings at these levels fail the step; "minor" and "moderate" ones are printed only. */
const AXE_FAILING_IMPACTS = new Set(["serious", "critical"]);
const SERVER_START_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;
const PASSWORD = "listen-to-the-music-42";
const RELEASE_TITLE = "Harbour Lights";
const SAMPLE_RATE_HZ = 44_100;
const ADVERTISER_NAME = "Harbour Records";
const CAMPAIGN_NAME = "Harbour Lights launch";
const CAMPAIGN_DAYS = 30;
const CAMPAIGN_CPM_CENTS = 250;
const CREATIVE_SIZE = "300x250";
/**
 * The server's defaults (ads/src/lib.rs, not settable by environment): a device may report 30
 * impressions a UTC day and 50 earn a download credit, so two agents at their cap earn exactly one.
 */
const IMPRESSIONS_PER_AGENT = 30;
const REDEEMED_TRACK = "02 High Water";
const apiPaths = Object.keys(JSON.parse(readFileSync(path.join(frontendDirectory, "src", "api", "openapi.json"), "utf8")).paths);
const checkoutExists = apiPaths.includes("/api/v1/checkout") && apiPaths.includes("/api/v1/library");
const moneyExists = apiPaths.includes("/api/v1/artist/earnings") && apiPaths.includes("/api/v1/admin/ledger/verify");
const freeTierSwitchExists = apiPaths.includes("/api/v1/admin/users/{id}/agent-active");
const advertisingExists = apiPaths.includes("/api/v1/admin/campaigns/{id}/creatives") && apiPaths.includes("/api/v1/admin/advertisers");
const redemptionExists = apiPaths.includes("/api/v1/installer/redemptions");
const publishingExists = apiPaths.includes("/api/v1/releases/{id}/tracks") && apiPaths.includes("/api/v1/catalog/releases");

/** An MP3 with ID3 tags and a cover picture, made by ffmpeg (a CI package), to exercise tag and artwork reading. */
function taggedMp3WithCover(directory) {
  const file = path.join(directory, "tagged.mp3");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=660:duration=3", "-f", "lavfi", "-i", "color=c=0x5b21b6:s=64x64:d=1",
    "-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:a", "libmp3lame", "-b:a", "128k", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-id3v2_version", "3",
    "-metadata", "title=Lighthouse", "-metadata", `album=${RELEASE_TITLE}`, "-metadata", "artist=Ada Artist", "-disposition:v", "attached_pic", file]);
  return readFileSync(file);
}

/** A PNG of one colour and the given size, made by ffmpeg, for creative uploads. */
function png(directory, width_pixels, height_pixels) {
  const file = path.join(directory, `creative-${width_pixels}x${height_pixels}.png`);
  execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `color=c=0x0f766e:s=${width_pixels}x${height_pixels}:d=1`, "-frames:v", "1", file]);
  return readFileSync(file);
}

/** A mono 16-bit PCM WAV of a sine tone; each frequency gives different audio (the server refuses duplicates). */
function sineWave(frequency_hz, duration_ms) {
  const sample_count = Math.floor((SAMPLE_RATE_HZ * duration_ms) / 1000);
  const buffer = Buffer.alloc(44 + sample_count * 2);
  buffer.write("RIFF", 0);
  buffer.writeUInt32LE(36 + sample_count * 2, 4);
  buffer.write("WAVEfmt ", 8);
  buffer.writeUInt32LE(16, 16);
  buffer.writeUInt16LE(1, 20);
  buffer.writeUInt16LE(1, 22);
  buffer.writeUInt32LE(SAMPLE_RATE_HZ, 24);
  buffer.writeUInt32LE(SAMPLE_RATE_HZ * 2, 28);
  buffer.writeUInt16LE(2, 32);
  buffer.writeUInt16LE(16, 34);
  buffer.write("data", 36);
  buffer.writeUInt32LE(sample_count * 2, 40);
  for (let index = 0; index < sample_count; index += 1) {
    buffer.writeInt16LE(Math.round(Math.sin((2 * Math.PI * frequency_hz * index) / SAMPLE_RATE_HZ) * 12_000), 44 + index * 2);
  }
  return buffer;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(baseUrl, serverProcess) {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (serverProcess.exitCode !== null) throw new Error(`megabox serve exited with ${serverProcess.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`megabox serve did not become healthy within ${SERVER_START_TIMEOUT_MS} ms`);
}

async function main() {
  if (!existsSync(path.join(distDirectory, "index.html"))) throw new Error("dist/ is missing: run `npm run build` first");
  if (!existsSync(megaboxBinary)) throw new Error(`no megabox binary at ${megaboxBinary}: run \`cargo build --bin megabox\` or set MEGABOX_BIN`);
  rmSync(artifactsDirectory, { recursive: true, force: true });
  mkdirSync(artifactsDirectory, { recursive: true });

  const dataDirectory = mkdtempSync(path.join(os.tmpdir(), "megabox-e2e-"));
  const operator = { email: "operator@example.com", name: "Operator" };
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let serverProcess = null;
  let serverLog = "";
  let browser = null;
  let passed = 0;
  let failed = 0;
  try {
    execFileSync(megaboxBinary, ["admin", "create", "--email", operator.email], {
      env: { ...process.env, MEGABOX_DATA_DIR: dataDirectory, MEGABOX_ADMIN_PASSWORD: PASSWORD },
      stdio: ["ignore", "pipe", "pipe"],
    });
    serverProcess = spawn(megaboxBinary, ["serve"], {
      env: { ...process.env, MEGABOX_BIND: `127.0.0.1:${port}`, MEGABOX_DATA_DIR: dataDirectory, MEGABOX_FRONTEND_DIR: distDirectory },
      stdio: ["ignore", "ignore", "pipe"],
    });
    serverProcess.stderr.on("data", (chunk) => {
      serverLog = (serverLog + chunk).slice(-20_000);
    });
    await waitForHealth(baseUrl, serverProcess);
    const root = await fetch(`${baseUrl}/`);
    if (!(root.headers.get("content-type") ?? "").startsWith("text/html")) throw new Error("megabox serve does not serve the web app at / (MEGABOX_FRONTEND_DIR)");

    browser = await chromium.launch({ executablePath: chromiumBinary, args: CHROMIUM_ARGS });
    // The app runs under the server's real CSP (so an inline script or style in it fails here);
    // axe-core goes in through the debugger protocol, which the CSP does not govern.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    /** Console errors and refused API calls, for steps that promise none. */
    const consoleErrors = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() === 403 && response.url().includes("/api/")) consoleErrors.push(`403 from ${new URL(response.url()).pathname}`);
    });

    let stepNumber = 0;
    async function step(name, action) {
      stepNumber += 1;
      const file = path.join(artifactsDirectory, `${String(stepNumber).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`);
      try {
        await action();
        if (pageErrors.length > 0) throw new Error(`errors in the page: ${pageErrors.splice(0).join("; ")}`);
        passed += 1;
        console.log(`ok   ${stepNumber} ${name}`);
      } catch (error) {
        failed += 1;
        console.log(`FAIL ${stepNumber} ${name}: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
      }
      await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    }

    const expectVisible = (locator) => locator.waitFor({ state: "visible" });
    /** Runs axe-core on the current page (WCAG 2 A and AA rules). */
    async function expectAccessible() {
      // Through the debugger protocol rather than a <script> tag: the server's CSP refuses inline scripts, as it should.
      await page.evaluate(axeSource);
      const violations = await page.evaluate(async () => {
        const results = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
        return results.violations.map((violation) => ({ id: violation.id, impact: violation.impact, targets: violation.nodes.slice(0, 3).map((node) => node.target.join(" ")) }));
      });
      for (const violation of violations) console.log(`     axe ${violation.impact} ${violation.id}: ${violation.targets.join(", ")}`);
      const failing = violations.filter((violation) => AXE_FAILING_IMPACTS.has(violation.impact));
      if (failing.length > 0) throw new Error(`accessibility violations: ${failing.map((violation) => violation.id).join(", ")}`);
    }
    async function expectNoSidewaysScroll() {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      if (overflow > 0) {
        // Name the outermost element that sticks out, so the failure says what to fix.
        const culprit = await page.evaluate(() => {
          const width = document.documentElement.clientWidth;
          const clipped = (element) => {
            for (let parent = element.parentElement; parent !== null; parent = parent.parentElement) {
              if (getComputedStyle(parent).overflowX !== "visible") return true;
            }
            return false;
          };
          const wide = [...document.querySelectorAll("body *")].find((element) => element.getBoundingClientRect().right > width + 1 && !clipped(element));
          return wide === undefined ? "?" : `${wide.tagName.toLowerCase()}${wide.id ? `#${wide.id}` : ""}.${[...wide.classList].join(".")}`;
        });
        throw new Error(`the page scrolls sideways by ${overflow} px (${culprit})`);
      }
    }
    /** What a phone must not do: scroll sideways, wrap the header, cut tables off, or shrink chart labels. */
    async function expectPhoneFit({ tables = true } = {}) {
      await expectNoSidewaysScroll();
      const headerHeight = await page.getByRole("banner").evaluate((header) => header.getBoundingClientRect().height);
      const menuOpen = (await page.getByRole("button", { name: /^Menu/ }).getAttribute("aria-expanded")) === "true";
      if (!menuOpen && headerHeight > 64) throw new Error(`the header is ${headerHeight} px tall on a phone`);
      if (tables) {
        const wide = await page.evaluate(() =>
          [...document.querySelectorAll("main table:not(.visually-hidden)")]
            .filter((table) => table.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map((table) => table.querySelector("caption")?.textContent ?? "a table"),
        );
        if (wide.length > 0) throw new Error(`tables cut off at the right: ${wide.join(", ")}`);
      }
      const smallest = await page.evaluate(() => Math.min(...[...document.querySelectorAll(".chart-label")].map((label) => label.getBoundingClientRect().height)));
      if (smallest < 10) throw new Error(`chart labels are ${smallest.toFixed(1)} px tall`);
    }
    async function waitForValue(locator, expected) {
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      let actual = await locator.inputValue();
      while (actual !== expected) {
        if (Date.now() > deadline) throw new Error(`expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`);
        await page.waitForTimeout(100);
        actual = await locator.inputValue();
      }
    }
    const accountName = page.getByTestId("account-name");
    const firstAgent = new TestAgent(baseUrl);
    async function releaseIdOf(title) {
      const found = await (await fetch(`${baseUrl}/api/v1/catalog/search?q=${encodeURIComponent(title)}`)).json();
      const release = found.releases.find((candidate) => candidate.title === title);
      if (release === undefined) throw new Error(`search does not find the release ${title}`);
      return release.id;
    }
    const suffix = Date.now().toString(36);
    const artist = { email: `artist-${suffix}@example.com`, name: "Ada Artist" };
    const listener = { email: `listener-${suffix}@example.com`, name: "Lee Listener" };

    async function signUp(account, role) {
      await page.goto(`${baseUrl}/signup`);
      await page.getByLabel(role === "artist" ? /An artist/ : /A listener/).check();
      await page.getByLabel("Display name").fill(account.name);
      await page.getByLabel("Email").fill(account.email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await expectVisible(accountName.filter({ hasText: `${account.name} (${role})` }));
    }

    /** On a phone the navigation and account controls fold behind Menu: open it when it is closed. */
    async function openMenuIfFolded() {
      const toggle = page.getByRole("button", { name: /^Menu/ });
      if ((await toggle.isVisible()) && (await toggle.getAttribute("aria-expanded")) === "false") await toggle.click();
    }

    async function signOut() {
      await openMenuIfFolded();
      await page.getByRole("button", { name: "Sign out" }).click();
      await expectVisible(page.getByRole("banner").getByRole("link", { name: "Sign in" }));
      const stored = await page.evaluate(() => window.localStorage.getItem("megabox.refresh_token"));
      if (stored !== null) throw new Error("the refresh token is still stored after signing out");
    }

    async function signIn(account, password = PASSWORD) {
      await page.goto(`${baseUrl}/signin`);
      await page.getByLabel("Email").fill(account.email);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
    }

    await step("home page for visitors", async () => {
      await page.goto(`${baseUrl}/`);
      await expectVisible(page.getByRole("heading", { name: "Music where artists keep 90%" }));
      await expectVisible(page.getByRole("banner").getByRole("link", { name: "Sign up" }));
      await expectAccessible();
    });

    await step("skip link is the first stop for keyboard users", async () => {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
      if (focused !== "Skip to content") throw new Error(`first Tab focused ${JSON.stringify(focused)}`);
    });

    await step("artist signs up and lands on the dashboard", async () => {
      await signUp(artist, "artist");
      await page.waitForURL(`${baseUrl}/artist`);
      await expectVisible(page.getByRole("heading", { name: "Dashboard" }));
      await expectVisible(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New release" }));
    });

    if (publishingExists) {
      await step("artist writes a profile bio", async () => {
        const profile = page.getByRole("form", { name: "Artist profile" });
        await profile.getByLabel("Bio").fill("Songs about the sea.");
        await profile.getByRole("button", { name: "Save profile" }).click();
        await expectVisible(profile.getByRole("status").filter({ hasText: "Saved." }));
      });

      await step("artist starts a release", async () => {
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New release" }).click();
        await page.getByLabel("Title").fill(RELEASE_TITLE);
        await page.getByRole("button", { name: "Start the release" }).click();
        await page.waitForURL(/\/artist\/releases\/[^/]+$/);
        await expectVisible(page.getByRole("heading", { name: RELEASE_TITLE }));
      });

      await step("artist uploads three tracks; a non-audio file fails on its own", async () => {
        await page.locator("#audio-files").setInputFiles([
          { name: "01 Low Tide.wav", mimeType: "audio/wav", buffer: sineWave(330, 3000) },
          { name: "02 High Water.wav", mimeType: "audio/wav", buffer: sineWave(550, 4000) },
          { name: "03 Lighthouse.mp3", mimeType: "audio/mpeg", buffer: taggedMp3WithCover(dataDirectory) },
          { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not audio at all") },
        ]);
        const uploads = page.getByRole("list", { name: "Uploads" });
        await expectVisible(uploads.locator(".upload-failed").filter({ hasText: "notes.txt" }));
        await uploads.locator(".upload-done").nth(2).waitFor({ timeout: 60_000 });
        await page.locator(".track-row").nth(2).waitFor();
        await waitForValue(page.getByLabel("Title of track 3"), "Lighthouse");
      });

      await step("publishing unpriced tracks names them by title, never by id", async () => {
        await page.getByRole("button", { name: "Publish" }).click();
        const alert = page.getByRole("alert").filter({ hasText: "cannot be published" });
        await expectVisible(alert);
        const text = (await alert.textContent()) ?? "";
        if (!text.includes("“01 Low Tide”") || /[0-9a-f]{8}-[0-9a-f]{4}-/.test(text)) throw new Error(`the refusal reads ${JSON.stringify(text)}`);
        await expectVisible(page.getByTestId("release-state").filter({ hasText: "draft" }));
      });

      await step("artist prices each track and keeps the EP an EP, with one Save", async () => {
        // Empty prices are not mistakes before anyone has typed in them.
        const editor = page.getByRole("form", { name: "Release and tracks" });
        if ((await editor.locator(".error:visible").count()) !== 0) throw new Error(`the editor opens with errors: ${await editor.locator(".error:visible").allTextContents()}`);
        if ((await editor.locator("[aria-invalid=true]").count()) !== 0) throw new Error("the editor opens with fields marked invalid");
        await editor.getByLabel("Kind").selectOption("ep");
        for (const trackNumber of [1, 2, 3]) {
          await editor.getByRole("group", { name: `Track ${trackNumber}`, exact: true }).getByLabel("Price in dollars").fill("1.29");
        }
        await editor.getByRole("button", { name: "Save changes" }).click();
        await expectVisible(editor.getByTestId("save-status").filter({ hasText: "Saved." }));
        await page.reload();
        await waitForValue(page.getByLabel("Kind"), "ep");
        for (const trackNumber of [1, 2, 3]) {
          await waitForValue(page.getByRole("group", { name: `Track ${trackNumber}`, exact: true }).getByLabel("Price in dollars"), "1.29");
        }
      });

      await step("artist reorders the tracks", async () => {
        const firstTitle = page.getByLabel("Title of track 1");
        if ((await firstTitle.inputValue()) !== "01 Low Tide") throw new Error("uploads did not keep the files' name order");
        await page.getByRole("button", { name: "Move 01 Low Tide down" }).click();
        await waitForValue(page.getByLabel("Title of track 1"), "02 High Water");
        await waitForValue(page.getByLabel("Title of track 2"), "01 Low Tide");
      });

      await step("artist sets a pay-what-you-want price and publishes; the kind stays EP", async () => {
        const editor = page.getByRole("form", { name: "Release and tracks" });
        const releasePrice = editor.getByRole("group", { name: "Price of the whole release" });
        await releasePrice.getByLabel("Pay what you want").check();
        await releasePrice.getByLabel("Minimum in dollars").fill("5");
        await releasePrice.getByLabel("Suggested in dollars").fill("8");
        await editor.getByRole("button", { name: "Save changes" }).click();
        await expectVisible(editor.getByTestId("save-status").filter({ hasText: "Saved." }));
        await page.getByRole("button", { name: "Publish" }).click();
        await expectVisible(page.getByTestId("release-state").filter({ hasText: "published" }));
        const stored = await (await fetch(`${baseUrl}/api/v1/catalog/releases/${page.url().split("/").at(-1)}`)).json();
        if (stored.release?.kind !== "ep") throw new Error(`the published release is ${JSON.stringify(stored.release?.kind)}, not an EP`);
        await waitForValue(page.getByLabel("Kind"), "ep");
        await expectAccessible();
      });
    }

    if (publishingExists) {
      await step("artist plays their own track in full, with its waveform", async () => {
        await page.getByRole("link", { name: "See it in the store" }).click();
        await page.getByRole("button", { name: "Play 02 High Water" }).click();
        const player = page.getByRole("region", { name: "Player" });
        await expectVisible(player.getByText("Full track"));
        const waveform = player.getByRole("slider", { name: "Position in 02 High Water" });
        await expectVisible(waveform.and(page.locator("canvas")));
        await page.waitForFunction(() => Number(document.querySelector(".player [role=slider]")?.getAttribute("aria-valuenow")) >= 1);
      });

      await step("the player keeps playing across pages", async () => {
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
        await expectVisible(page.getByRole("heading", { name: "Dashboard" }));
        await expectVisible(page.getByRole("region", { name: "Player" }).locator(".player-now").getByText("02 High Water"));
        await expectAccessible();
        if (await page.evaluate(() => document.querySelector(".player button[aria-label=Pause]") === null)) throw new Error("playback stopped");
      });
    }

    if (publishingExists) {
      await step("the player answers the keyboard, marks what plays, and has volume, shuffle and repeat", async () => {
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Browse" }).click();
        await page.getByRole("link", { name: RELEASE_TITLE }).first().click();
        await page.getByRole("button", { name: "Play 02 High Water" }).click();
        const player = page.getByRole("region", { name: "Player" });
        await expectVisible(player.getByRole("button", { name: "Pause" }));
        const nowPlaying = page.locator(".tracklist li[aria-current=true]");
        await expectVisible(nowPlaying.filter({ hasText: "02 High Water" }).getByText("Now playing"));
        // Keys work from anywhere but a form field: focus the page itself first.
        await page.getByRole("heading", { name: RELEASE_TITLE }).click();
        await page.keyboard.press("Space");
        await expectVisible(player.getByRole("button", { name: "Play", exact: true }));
        await page.keyboard.press("Space");
        await expectVisible(player.getByRole("button", { name: "Pause" }));
        await page.keyboard.press("Shift+ArrowRight");
        await expectVisible(player.locator(".player-now").getByText("01 Low Tide"));
        await expectVisible(nowPlaying.filter({ hasText: "01 Low Tide" }));
        // The Media Session is told once the new track's play has started.
        await page
          .waitForFunction(() => navigator.mediaSession?.metadata?.title === "01 Low Tide", undefined, { timeout: 5_000 })
          .catch(async () => Promise.reject(new Error(`the Media Session says ${JSON.stringify(await page.evaluate(() => navigator.mediaSession?.metadata?.title ?? null))}`)));
        const volume = player.getByRole("slider", { name: "Volume" });
        await volume.fill("40");
        if ((await volume.getAttribute("aria-valuetext")) !== "40%") throw new Error("the volume slider did not move");
        await player.getByRole("button", { name: "Shuffle" }).click();
        await expectVisible(player.getByRole("button", { name: "Shuffle", pressed: true }));
        await player.getByRole("button", { name: "Repeat: off" }).click();
        await expectVisible(player.getByRole("button", { name: "Repeat: all", pressed: true }));
        await expectAccessible();
      });
    }

    await step("artist signs out", async () => {
      await signOut();
      if ((await page.getByRole("region", { name: "Player" }).count()) !== 0) throw new Error("the player still holds the artist's queue");
    });

    if (publishingExists) {
      await step("visitors see the release on the home page", async () => {
        await page.goto(`${baseUrl}/`);
        await expectVisible(page.getByRole("link", { name: RELEASE_TITLE }));
      });

      await step("search finds the release", async () => {
        await page.goto(`${baseUrl}/search`);
        await page.getByRole("searchbox").fill("harbour");
        await page.getByRole("button", { name: "Search" }).click();
        await expectVisible(page.getByRole("link", { name: RELEASE_TITLE }));
      });

      await step("release page shows the tracklist and goes into the cart", async () => {
        await page.getByRole("link", { name: RELEASE_TITLE }).first().click();
        await expectVisible(page.getByRole("heading", { name: RELEASE_TITLE }));
        if ((await page.locator(".tracklist li").count()) !== 3) throw new Error("the tracklist does not show three tracks");
        const coverWidth = await page.getByRole("img", { name: `Cover of ${RELEASE_TITLE}` }).evaluate((image) => image.naturalWidth);
        if (coverWidth === 0) throw new Error("the cover read from the MP3's tags did not load");
        await page.getByRole("button", { name: "Buy $5.00 or more — Harbour Lights" }).click();
        await expectVisible(page.getByRole("button", { name: "In cart — Harbour Lights" }));
        await expectAccessible();
      });

      await step("visitors hear a 30-second preview", async () => {
        await page.getByRole("button", { name: "Play 01 Low Tide" }).click();
        const player = page.getByRole("region", { name: "Player" });
        await expectVisible(player.getByText("Preview", { exact: true }));
        await expectVisible(player.getByRole("button", { name: "Pause" }));
      });

      await step("the artist page shows the bio and the release", async () => {
        await page.getByRole("main").getByRole("link", { name: artist.name }).click();
        await expectVisible(page.getByRole("heading", { name: artist.name }));
        await expectVisible(page.getByText("Songs about the sea."));
        await expectVisible(page.getByRole("link", { name: RELEASE_TITLE }));
      });

      await step("cart totals a pay-what-you-want amount and enforces the minimum", async () => {
        await page.getByRole("link", { name: /^Cart/ }).click();
        const total = page.getByTestId("cart-total");
        await expectVisible(total.filter({ hasText: "$8.00" }));
        const amount = page.getByLabel(/Your price/);
        await amount.fill("4.99");
        await expectVisible(page.getByText("Pay at least $5.00."));
        await amount.fill("12.50");
        await expectVisible(total.filter({ hasText: "$12.50" }));
        await expectAccessible();
      });
    }

    await step("registering the same email again is refused", async () => {
      await page.goto(`${baseUrl}/signup`);
      await page.getByLabel("Display name").fill("Someone Else");
      await page.getByLabel("Email").fill(artist.email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await expectVisible(page.getByRole("alert").filter({ hasText: /^An account with this email already exists\./ }));
    });

    await step("listener signs up and sees listener navigation", async () => {
      await signUp(listener, "listener");
      await page.waitForURL(`${baseUrl}/`);
      const navigation = page.getByRole("navigation", { name: "Main" });
      await expectVisible(navigation.getByRole("link", { name: "Library" }));
      if ((await navigation.getByRole("link", { name: "New release" }).count()) !== 0) throw new Error("a listener sees the artist's New release link");
    });

    await step("a reload keeps the listener signed in", async () => {
      await page.reload();
      await expectVisible(accountName.filter({ hasText: listener.name }));
    });

    await step("artist pages are closed to listeners", async () => {
      await page.goto(`${baseUrl}/artist/upload`);
      await expectVisible(page.getByText("This page is for artist accounts."));
    });

    await step("free music page shows the free-tier status", async () => {
      await page.goto(`${baseUrl}/free-music`);
      await expectVisible(page.getByTestId("free-tier-status").filter({ hasText: /^Free streaming: not active$/ }));
    });

    if (apiPaths.includes("/api/v1/devices/pairing-codes")) {
      await step("listener gets a pairing code for the agent", async () => {
        await page.getByRole("button", { name: "Get a pairing code" }).click();
        await expectVisible(page.getByTestId("pairing-code"));
        // The command names this server (the agent cannot guess it) and copies with one click.
        const code = (await page.getByTestId("pairing-code").textContent()) ?? "";
        const expected = `megabox-agent pair ${code} --server ${baseUrl}`;
        await expectVisible(page.getByTestId("copy-command-text").filter({ hasText: expected }));
        await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
        await page.getByRole("button", { name: "Copy the pairing command" }).click();
        await expectVisible(page.getByRole("button", { name: "Copied the pairing command" }));
        const copied = await page.evaluate(() => navigator.clipboard.readText());
        if (copied !== expected) throw new Error(`the clipboard holds ${JSON.stringify(copied)}`);
        await expectVisible(page.getByRole("button", { name: "Copy the install command" }));
        await expectVisible(page.getByText("No devices paired yet."));
        await expectAccessible();
      });

      await step("an agent pairs with the code and shows up on the page; the code works once", async () => {
        const code = (await page.getByTestId("pairing-code").textContent()) ?? "";
        const paired = await firstAgent.pair(code);
        if (paired.status !== 201) throw new Error(`pairing answered ${paired.status}: ${JSON.stringify(paired.body)}`);
        // No click: the page polls while its code waits for an agent.
        await expectVisible(page.getByTestId("pairing-result"));
        await expectVisible(page.getByRole("table", { name: "Your devices" }).getByRole("row").filter({ hasText: firstAgent.deviceId.split("-").at(-1) }));
        const reused = await new TestAgent(baseUrl).pair(code);
        if (reused.status !== 409 || reused.body.error?.code !== "pairing_code_used") throw new Error(`a second use of the code answered ${reused.status}: ${JSON.stringify(reused.body)}`);
        await expectAccessible();
      });

      await step("listener revokes the device from the page", async () => {
        const row = page.getByRole("table", { name: "Your devices" }).getByRole("row").filter({ hasText: firstAgent.deviceId.split("-").at(-1) });
        await row.getByRole("button", { name: `Revoke device ${firstAgent.deviceId.split("-").at(-1)}` }).click();
        await expectVisible(row.getByText(/^Revoked /));
      });
    }

    await step("signing out in one tab signs out the other", async () => {
      const otherTab = await context.newPage();
      await otherTab.goto(`${baseUrl}/library`);
      await expectVisible(otherTab.getByTestId("account-name").filter({ hasText: listener.name }));
      await signOut();
      await expectVisible(otherTab.getByRole("banner").getByRole("link", { name: "Sign in" }));
      await otherTab.close();
    });

    await step("a wrong password shows a written sentence", async () => {
      await signIn(listener, "not-the-password-1");
      await expectVisible(page.getByRole("alert").filter({ hasText: /^Wrong email or password\.$/ }));
    });

    await step("listener signs back in", async () => {
      await signIn(listener);
      await expectVisible(accountName.filter({ hasText: listener.name }));
    });

    if (publishingExists) {
      await step("a listener without the music hears a preview, is told why and how to hear the rest, with no 403", async () => {
        await page.goto(`${baseUrl}/releases/${await releaseIdOf(RELEASE_TITLE)}`);
        await expectVisible(page.getByTestId("preview-note").filter({ hasText: "not in your library and free streaming is off" }));
        await expectVisible(page.getByTestId("preview-note").getByRole("link", { name: "Free music with the agent" }));
        consoleErrors.splice(0);
        await page.getByRole("button", { name: "Play 01 Low Tide" }).click();
        const player = page.getByRole("region", { name: "Player" });
        await expectVisible(player.getByText("Preview", { exact: true }));
        await expectVisible(player.getByRole("button", { name: "Pause" }));
        if (consoleErrors.length > 0) throw new Error(`the console shows errors: ${consoleErrors.join("; ")}`);
        await player.getByRole("button", { name: "Pause" }).click();
      });
    }

    if (publishingExists && freeTierSwitchExists) {
      await step("operator turns on the listener's free tier", async () => {
        const tokens = await (await fetch(`${baseUrl}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: listener.email, password: PASSWORD }) })).json();
        const me = await (await fetch(`${baseUrl}/api/v1/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } })).json();
        await signOut();
        await signIn(operator);
        await page.waitForURL(`${baseUrl}/operator`);
        const form = page.getByRole("form", { name: "Free streaming tier" });
        await form.getByLabel("Account id").fill("not-a-uuid");
        if (!(await form.getByLabel("Account id").evaluate((input) => input.validity.patternMismatch))) throw new Error("the browser does not check the account id's pattern");
        await form.getByLabel("Account id").fill(me.id);
        await form.getByRole("button", { name: "Apply" }).click();
        await expectVisible(form.getByRole("status").filter({ hasText: "Free streaming is now on" }));
      });

      if (advertisingExists) {
        await step("operator adds an advertiser and starts a campaign", async () => {
          const advertiserForm = page.getByRole("form", { name: "New advertiser" });
          await advertiserForm.getByLabel("Advertiser name").fill(ADVERTISER_NAME);
          await advertiserForm.getByRole("button", { name: "Add advertiser" }).click();
          await expectVisible(advertiserForm.getByRole("status").filter({ hasText: `Added ${ADVERTISER_NAME}.` }));
          const campaignForm = page.getByRole("form", { name: "New campaign" });
          await campaignForm.getByLabel("Campaign name").fill(CAMPAIGN_NAME);
          await campaignForm.getByLabel("CPM in dollars").fill(String(CAMPAIGN_CPM_CENTS / 100));
          await campaignForm.getByRole("button", { name: "Start the campaign" }).click();
          await expectVisible(campaignForm.getByText("Enter a budget above $0.00, like 500."));
          await campaignForm.getByLabel("Budget in dollars").fill("100");
          await campaignForm.getByLabel("Last day (UTC)").fill(new Date(Date.now() + CAMPAIGN_DAYS * 86_400_000).toISOString().slice(0, 10));
          await campaignForm.getByRole("button", { name: "Start the campaign" }).click();
          const row = page.getByRole("table", { name: "Campaigns" }).getByRole("row").filter({ hasText: CAMPAIGN_NAME });
          await expectVisible(row.getByTestId("campaign-status").filter({ hasText: "active" }));
          await expectVisible(row.getByTestId("campaign-spend").filter({ hasText: "$0.00 of $100.00 (0.0%)" }));
          await row.getByRole("button", { name: `Pause ${CAMPAIGN_NAME}` }).click();
          await expectVisible(row.getByTestId("campaign-status").filter({ hasText: "paused" }));
          await row.getByRole("button", { name: `Resume ${CAMPAIGN_NAME}` }).click();
          await expectVisible(row.getByTestId("campaign-status").filter({ hasText: "active" }));
        });

        await step("operator uploads a creative; a wrong-sized image is refused at its field", async () => {
          const creativeForm = page.getByRole("form", { name: "New creative" });
          await creativeForm.getByLabel("Size").selectOption(CREATIVE_SIZE);
          await creativeForm.getByLabel("Headline").fill("Harbour Lights, the album");
          await creativeForm.getByLabel("Text").fill("Songs about the sea.");
          await creativeForm.getByLabel("Click URL").fill("https://example.com/harbour");
          await creativeForm.getByLabel("Image").setInputFiles({ name: "wrong.png", mimeType: "image/png", buffer: png(dataDirectory, 250, 200) });
          await creativeForm.getByRole("button", { name: "Add the creative" }).click();
          const image = creativeForm.getByLabel("Image");
          await page.waitForFunction(() => document.getElementById("creative-file")?.getAttribute("aria-invalid") === "true");
          const description = await image.evaluate((input) => input.getAttribute("aria-describedby") ?? "");
          const errorText = await page.locator(`[id="${description.split(" ").at(-1)}"]`).textContent();
          if (!/250x200, not 300x250/.test(errorText ?? "")) throw new Error(`the image field does not show the size refusal: ${JSON.stringify(errorText)}`);
          await image.setInputFiles({ name: "harbour.png", mimeType: "image/png", buffer: png(dataDirectory, ...CREATIVE_SIZE.split("x").map(Number)) });
          await creativeForm.getByRole("button", { name: "Add the creative" }).click();
          const added = page.getByRole("list", { name: "Campaign creatives" });
          await expectVisible(added.getByText("Harbour Lights, the album"));
          const thumbnail = added.getByRole("img", { name: /Harbour Lights, the album/ });
          await page.waitForFunction((image) => image.complete, await thumbnail.elementHandle());
          const thumbnailWidth = await thumbnail.evaluate((image) => image.naturalWidth);
          if (thumbnailWidth !== 300) throw new Error(`the creative's thumbnail did not load (natural width ${thumbnailWidth})`);
          await expectAccessible();
          await page.reload();
          await expectVisible(page.getByRole("list", { name: "Campaign creatives" }).getByText("Harbour Lights, the album"));
        });
      }

      if (advertisingExists && firstAgent.deviceId !== null) {
        await step("operator flags the revoked device", async () => {
          const form = page.getByRole("form", { name: "Flag invalid traffic" });
          await form.getByLabel("Device or account id").fill(firstAgent.deviceId);
          await form.getByLabel("Reason").fill("reports from a lab machine");
          // The id field's pattern is one Chrome accepts, so the browser checks it.
          const mismatch = await form.getByLabel("Device or account id").evaluate((input) => input.validity.patternMismatch);
          if (mismatch) throw new Error("a device id does not match the field's pattern");
          await form.getByRole("button", { name: "Flag and claw back", exact: true }).click();
          // Flagging takes revenue back: it asks first, and nothing happens before the second press.
          await expectVisible(form.getByText("Its reports will be refused from now on"));
          if ((await page.getByRole("table", { name: "Flagged devices and accounts" }).count()) !== 0) throw new Error("the flag was recorded before it was confirmed");
          await page.waitForFunction(() => document.activeElement?.textContent?.startsWith("Flag and claw back for good"), undefined, { timeout: 2_000 });
          await form.getByRole("button", { name: "Flag and claw back for good" }).click();
          await expectVisible(form.getByRole("status").filter({ hasText: `Flagged device ${firstAgent.deviceId}.` }));
          await expectVisible(page.getByRole("table", { name: "Flagged devices and accounts" }).getByRole("row").filter({ hasText: "reports from a lab machine" }));
        });
      }

      if (moneyExists) {
        await step("operator closes a month and verifies the ledger", async () => {
          const close = page.getByRole("form", { name: "Close a period" });
          await close.getByRole("button", { name: "Close the month" }).click();
          await close.getByRole("button", { name: "Close and allocate" }).click();
          await expectVisible(close.getByRole("status").getByText("To artists"));
          // Payouts ask before moving money; Cancel moves none.
          const payouts = page.getByRole("form", { name: "Run payouts" });
          await payouts.getByRole("button", { name: "Run payouts" }).click();
          await expectVisible(payouts.getByText("Money will be transferred"));
          await payouts.getByRole("button", { name: "Cancel" }).click();
          await expectVisible(payouts.getByRole("button", { name: "Run payouts" }));
          if ((await page.getByTestId("payout-run-result").count()) !== 0) throw new Error("payouts ran without confirmation");
          await page.getByRole("button", { name: "Verify the ledger" }).click();
          await expectVisible(page.getByTestId("ledger-result").filter({ hasText: "Ledger verified" }));
          await expectAccessible();
        });
      }

      await step("a free-tier listener streams a whole track", async () => {
        await signOut();
        await signIn(listener);
        await expectVisible(accountName.filter({ hasText: listener.name }));
        await page.goto(`${baseUrl}/free-music`);
        await expectVisible(page.getByTestId("free-tier-status").filter({ hasText: /^Free streaming: active$/ }));
        await expectVisible(page.getByTestId("free-tier-reason").filter({ hasText: "Megabox support switched it on for your account." }));
        await page.goto(`${baseUrl}/`);
        await page.getByRole("link", { name: RELEASE_TITLE }).click();
        await page.getByRole("button", { name: "Play 01 Low Tide" }).click();
        await expectVisible(page.getByRole("region", { name: "Player" }).getByText("Full track"));
      });
    }

    if (publishingExists && freeTierSwitchExists && advertisingExists) {
      await step("two agents report signed impressions; the page shows them and a download credit", async () => {
        const offers = await (await fetch(`${baseUrl}/api/v1/ads/creatives?size=${CREATIVE_SIZE}`)).json();
        const creative = offers.creatives?.[0];
        if (creative === undefined) throw new Error(`no creative is offered for ${CREATIVE_SIZE}: ${JSON.stringify(offers)}`);
        const refused = await firstAgent.reportImpressions(creative.creative_id, CREATIVE_SIZE, 1);
        if (refused.status !== 403) throw new Error(`a revoked, flagged device's report answered ${refused.status}: ${JSON.stringify(refused.body)}`);
        await page.goto(`${baseUrl}/free-music`);
        let accepted = 0;
        for (const agent of [new TestAgent(baseUrl), new TestAgent(baseUrl)]) {
          await page.getByRole("button", { name: /^Get a (pairing|new) code$/ }).click();
          const code = (await page.getByTestId("pairing-code").textContent()) ?? "";
          const paired = await agent.pair(code);
          if (paired.status !== 201) throw new Error(`pairing answered ${paired.status}: ${JSON.stringify(paired.body)}`);
          // The page's polling was walked above; a click is quicker.
          await page.getByRole("button", { name: "Refresh devices" }).click();
          await expectVisible(page.getByTestId("pairing-result"));
          const receipt = await agent.reportImpressions(creative.creative_id, CREATIVE_SIZE, IMPRESSIONS_PER_AGENT);
          if (receipt.status !== 200) throw new Error(`the batch answered ${receipt.status}: ${JSON.stringify(receipt.body)}`);
          accepted += receipt.body.accepted.length;
        }
        if (accepted !== 2 * IMPRESSIONS_PER_AGENT) throw new Error(`${accepted} of ${2 * IMPRESSIONS_PER_AGENT} impressions were accepted`);
        await page.reload();
        // The 7-day figure, not today's: a run that crosses midnight UTC splits the day's count.
        await expectVisible(page.getByTestId("impressions-7d").filter({ hasText: String(accepted) }));
        await expectVisible(page.getByTestId("credits-earned").filter({ hasText: /^1$/ }));
        await expectVisible(page.getByTestId("credits-available").filter({ hasText: /^1$/ }));
        await expectAccessible();
      });
    }

    if (publishingExists && freeTierSwitchExists && advertisingExists && redemptionExists) {
      await step("listener spends the credit on a track found from the free music page", async () => {
        await page.goto(`${baseUrl}/releases/${await releaseIdOf(RELEASE_TITLE)}`);
        // With a credit to spend, every track of a release page offers it.
        await expectVisible(page.getByRole("button", { name: `Get with a credit — ${REDEEMED_TRACK}` }));
        await page.goto(`${baseUrl}/free-music`);
        const finder = page.getByRole("search", { name: "Find a track for a credit" });
        await finder.getByRole("searchbox").fill("high water");
        await finder.getByRole("button", { name: "Find" }).click();
        const hit = page.getByRole("list", { name: "Tracks found" }).getByRole("listitem").filter({ hasText: REDEEMED_TRACK });
        await hit.getByRole("button", { name: `Get with a credit — ${REDEEMED_TRACK}` }).click();
        // That was the only credit: the finder gives way to what happened.
        await expectVisible(page.getByTestId("redemption-status").filter({ hasText: `${REDEEMED_TRACK} is in your library` }));
        await expectVisible(page.getByTestId("credits-available").filter({ hasText: /^0$/ }));
        await expectVisible(page.getByRole("list", { name: "Redeemed with credits" }).getByText(REDEEMED_TRACK));
        await expectVisible(page.getByText("You have no download credits to spend."));
        await expectAccessible();
      });

      await step("the redeemed track downloads from the library; no credit is left to spend", async () => {
        await page.getByRole("list", { name: "Redeemed with credits" }).getByRole("link", { name: REDEEMED_TRACK }).click();
        const form = page.getByRole("form", { name: `Download ${REDEEMED_TRACK}` });
        await expectVisible(page.getByRole("list", { name: "Your music" }).getByText("redeemed with a credit"));
        // The original file needs no transcoding (the release's download below walks that).
        await form.getByLabel("Format").selectOption("original");
        const [download] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), form.getByRole("button", { name: /^Download/ }).click()]);
        if ((await download.failure()) !== null) throw new Error(`the download failed: ${await download.failure()}`);
        await page.goto(`${baseUrl}/releases/${await releaseIdOf(RELEASE_TITLE)}`);
        await expectVisible(page.getByRole("button", { name: "Play 01 Low Tide" }));
        if ((await page.getByRole("button", { name: /^Get with a credit/ }).count()) !== 0) throw new Error("a release page offers a credit the listener no longer has");
        // The redeemed track is owned: the page says so instead of selling it again.
        const redeemedRow = page.locator(".tracklist li").filter({ hasText: REDEEMED_TRACK });
        await expectVisible(redeemedRow.getByRole("link", { name: `In your library — ${REDEEMED_TRACK}` }));
        if ((await redeemedRow.getByRole("button", { name: /buy/i }).count()) !== 0) throw new Error("an owned track is still offered for sale");
      });
    }

    if (publishingExists && checkoutExists) {
      await step("listener checks out the cart through the test-mode gateway", async () => {
        await page.getByRole("link", { name: /^Cart/ }).click();
        await expectVisible(page.getByTestId("cart-total").filter({ hasText: "$12.50" }));
        await page.getByRole("button", { name: "Check out $12.50" }).click();
        await expectVisible(page.getByText("TEST MODE"));
        await page.getByRole("button", { name: /^Pay/ }).click();
        await page.waitForURL(/\/checkout\/complete\?order_id=/);
        await expectVisible(page.getByTestId("order-status").filter({ hasText: "Your payment went through" }));
        await expectAccessible();
      });

      await step("the bought release is in the library and the cart is empty", async () => {
        await page.getByRole("link", { name: "Go to your library" }).click();
        await expectVisible(page.getByRole("list", { name: "Your music" }).getByRole("link", { name: RELEASE_TITLE }));
        await page.getByRole("link", { name: /^Cart/ }).click();
        await expectVisible(page.getByText("Your cart is empty."));
      });

      await step("the release page says the bought release is in the library and offers its download, not Buy", async () => {
        await page.goto(`${baseUrl}/releases/${await releaseIdOf(RELEASE_TITLE)}`);
        await expectVisible(page.getByRole("link", { name: `In your library — ${RELEASE_TITLE}` }));
        await expectVisible(page.getByRole("form", { name: `Download ${RELEASE_TITLE}` }));
        if ((await page.getByRole("button", { name: /^(Buy|In cart)/ }).count()) !== 0) throw new Error("owned music is still offered for sale");
        if ((await page.locator(".tracklist li").getByRole("link", { name: /^In your library/ }).count()) !== 3) throw new Error("not every track of the owned release says it is in the library");
        await expectAccessible();
      });

      if (apiPaths.includes("/api/v1/library/{item}/download")) {
        await step("listener downloads the release as MP3 320", async () => {
          await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Library" }).click();
          const form = page.getByRole("form", { name: new RegExp(`^Download .*${RELEASE_TITLE}$`) });
          await form.getByLabel("Format").selectOption("mp3-320");
          const [download] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), form.getByRole("button", { name: /^Download/ }).click()]);
          if ((await download.failure()) !== null) throw new Error(`the download failed: ${await download.failure()}`);
          const saved = await download.path();
          if (saved === null || readFileSync(saved).length === 0) throw new Error("the download is empty");
          await expectAccessible();
        });
      }
    }

    await step("artist signs in and lands on the dashboard", async () => {
      await signOut();
      await signIn(artist);
      await page.waitForURL(`${baseUrl}/artist`);
      await expectVisible(accountName.filter({ hasText: artist.name }));
    });

    if (moneyExists) {
      await step("artist sees the sale in the earnings chart and opens the statement", async () => {
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Earnings" }).click();
        await expectVisible(page.getByRole("heading", { name: "Earnings" }));
        const expected = checkoutExists ? "Sales and ad shares per month" : /No earnings yet|Sales and ad shares per month/;
        await expectVisible(page.getByText(expected).first());
        if (checkoutExists) {
          await page.getByRole("button", { name: /^Show the .* statement$/ }).first().click();
          const statement = page.getByRole("table", { name: /^Statement for / });
          await expectVisible(statement);
          await expectVisible(statement.getByRole("cell", { name: RELEASE_TITLE }).first());
          const statementText = (await statement.textContent()) ?? "";
          if (/[0-9a-f]{8}-[0-9a-f]{4}-/.test(statementText) || /release:|track:/.test(statementText)) throw new Error(`the statement shows internal ids: ${statementText.slice(0, 300)}`);
          const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /^CSV of the .* statement$/ }).first().click()]);
          const saved = await download.path();
          const csv = saved === null ? "" : readFileSync(saved, "utf8");
          if (!/sale/.test(csv)) throw new Error(`the statement CSV has no sale line: ${JSON.stringify(csv.slice(0, 200))}`);
        }
        await expectAccessible();
      });

      await step("artist sees the payout account and history", async () => {
        await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Payouts" }).click();
        await expectVisible(page.getByText(/No payouts yet|Payout history/).first());
        if (checkoutExists) await expectVisible(page.getByTestId("payout-account-status"));
      });
    }

    await step("phone-sized layout", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${baseUrl}/`);
      await expectVisible(page.getByRole("heading", { name: "Music where artists keep 90%" }));
      await expectPhoneFit();
    });

    await step("phone header folds the navigation and account into a menu", async () => {
      const navigation = page.getByRole("navigation", { name: "Main" });
      if (await navigation.isVisible()) throw new Error("the navigation is not folded on a phone");
      await page.getByRole("button", { name: /^Menu/ }).click();
      await expectVisible(navigation.getByRole("link", { name: "Earnings" }));
      await expectVisible(accountName.filter({ hasText: artist.name }));
      await expectAccessible();
      await navigation.getByRole("link", { name: "Earnings" }).click();
      await expectVisible(page.getByRole("heading", { name: "Earnings" }));
      if (await navigation.isVisible()) throw new Error("the menu stays open after following a link");
    });

    if (moneyExists) {
      await step("phone-sized earnings: readable chart labels, tables that fit", async () => {
        await expectVisible(page.getByRole("heading", { name: "Earnings" }));
        if (checkoutExists) {
          await page.getByRole("button", { name: /^Show the .* statement$/ }).first().click();
          await expectVisible(page.getByRole("table", { name: /^Statement for / }));
        }
        await expectPhoneFit();
      });

      await step("phone-sized payouts", async () => {
        await page.goto(`${baseUrl}/artist/payouts`);
        await expectVisible(page.getByRole("heading", { name: "Payouts" }));
        await expectPhoneFit();
      });
    }

    if (publishingExists) {
      await step("phone-sized release editor", async () => {
        await page.goto(`${baseUrl}/artist`);
        await page.getByRole("link", { name: RELEASE_TITLE }).click();
        await expectVisible(page.getByRole("group", { name: "Track 2", exact: true }));
        await expectNoSidewaysScroll();
      });
    }

    if (publishingExists && freeTierSwitchExists && advertisingExists) {
      await step("phone-sized operator console shows what the impressions spent; the campaign ends", async () => {
        await signOut();
        await signIn(operator);
        await page.waitForURL(`${baseUrl}/operator`);
        const row = page.getByRole("table", { name: "Campaigns" }).getByRole("row").filter({ hasText: CAMPAIGN_NAME });
        // Each accepted impression costs CPM / 1000: 2 × 30 × $2.50 / 1000 = $0.15.
        const spent_cents = (2 * IMPRESSIONS_PER_AGENT * CAMPAIGN_CPM_CENTS) / 1000;
        await expectVisible(row.getByTestId("campaign-spend").filter({ hasText: `$0.${String(spent_cents).padStart(2, "0")} of $100.00` }));
        await expectNoSidewaysScroll();
        // Ending cannot be undone: it takes a second, explicit click.
        await row.getByRole("button", { name: `End ${CAMPAIGN_NAME}` }).click();
        await expectVisible(row.getByTestId("campaign-status").filter({ hasText: "active" }));
        // Focus moves in an effect, after the render that shows the button.
        await page
          .waitForFunction(() => document.activeElement?.textContent?.startsWith("End for good"), undefined, { timeout: 2_000 })
          .catch(() => Promise.reject(new Error("focus did not move to the confirming button")));
        await row.getByRole("button", { name: `End for good ${CAMPAIGN_NAME}` }).click();
        await expectVisible(row.getByTestId("campaign-status").filter({ hasText: "ended" }));
        if ((await row.getByRole("button").count()) !== 0) throw new Error("an ended campaign still offers status changes");
        await expectVisible(page.getByText("Start a campaign first; every creative belongs to one that has not ended."));
      });
    }

    await step("phone-sized: a listener signs in, and the library fits", async () => {
      await signOut();
      await signIn(listener);
      await page.waitForURL(`${baseUrl}/`);
      await page.goto(`${baseUrl}/library`);
      await expectVisible(page.getByRole("heading", { name: "Library" }));
      await expectPhoneFit();
    });

    await step("phone-sized free music page", async () => {
      await page.goto(`${baseUrl}/free-music`);
      await expectVisible(page.getByTestId("free-tier-status"));
      await expectPhoneFit();
    });

    await step("phone-sized cart", async () => {
      await page.goto(`${baseUrl}/cart`);
      await expectVisible(page.getByRole("heading", { name: /Cart/ }));
      await expectPhoneFit();
    });

    if (publishingExists) {
      await step("phone-sized release page with the compact player", async () => {
        await page.goto(`${baseUrl}/releases/${await releaseIdOf(RELEASE_TITLE)}`);
        await page.getByRole("button", { name: "Play 01 Low Tide" }).click();
        const player = page.getByRole("region", { name: "Player" });
        await expectVisible(player.getByRole("button", { name: "Pause" }));
        const playerHeight = await player.evaluate((element) => element.getBoundingClientRect().height);
        if (playerHeight > 110) throw new Error(`the player is ${playerHeight} px tall on a phone`);
        await expectPhoneFit();
        await expectAccessible();
      });
    }
  } catch (error) {
    failed += 1;
    console.log(`FAIL setup: ${error instanceof Error ? error.message : error}`);
    if (serverLog !== "") console.log(`--- megabox serve stderr (tail) ---\n${serverLog.slice(-4000)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    serverProcess?.kill("SIGTERM");
    rmSync(dataDirectory, { recursive: true, force: true });
  }
  if (failed > 0) {
    const serverErrors = serverLog.split("\n").filter((line) => /ERROR|panicked/.test(line));
    if (serverErrors.length > 0) console.log(`--- megabox serve errors ---\n${serverErrors.slice(-10).join("\n")}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main().catch((error) => {
  console.log(`FAIL setup: ${error instanceof Error ? error.message : error}`);
  console.log("0 passed, 1 failed");
  process.exitCode = 1;
});
