//! End-to-end test of megabox-agent in a real browser (issue #8, DESIGN.md §5): a real
//! `megabox serve` with a campaign, the real agent paired with it, loopback HTTPS fixtures for a
//! publisher (`news.test`, allow-listed), a site that is not allow-listed (`blog.test`) and an ad
//! network (`adnet.test`), and headless Chromium whose NSS database trusts the agent's CA, using
//! the agent as its proxy. Saves screenshots and logs to artifacts/agent-e2e/ and prints
//! `N passed, N failed` as its last line (exit 1 on any failure).
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { chromium } from "playwright-core";

const e2eDirectory = fileURLToPath(new URL(".", import.meta.url));
const repositoryRoot = path.resolve(e2eDirectory, "..", "..");
const artifactsDirectory = path.join(repositoryRoot, "artifacts", "agent-e2e");
const megaboxBinary = path.resolve(repositoryRoot, process.env.MEGABOX_BIN ?? "target/debug/megabox");
const agentBinary = path.resolve(repositoryRoot, process.env.MEGABOX_AGENT_BIN ?? "target/debug/megabox-agent");
const chromiumBinary = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
/** The real EasyList, beside the repository (never copied into it). */
const easyListPath = path.resolve(repositoryRoot, "..", "shared", "testdata", "filters", "easylist.txt");

const PUBLISHER_HOST = "news.test";
const OTHER_HOST = "blog.test";
const AD_NETWORK_HOST = "adnet.test";
const TEST_ROOT_NAME = "Megabox agent e2e test root";
const AGENT_CA_NAME = "Megabox agent local CA (this computer only)";
/** Share of eligible slots the agent swaps in this run (MEGABOX_AGENT_SWAP_PERCENT). */
const SWAP_PERCENT = 20;
/** Article pages with exactly one eligible slot each: the swap-rate sample. */
const SWAP_RATE_PAGES = 240;
/** Pages with several eligible slots: at most one may be swapped on each. */
const MULTI_SLOT_PAGES = 20;
const SLOTS_PER_MULTI_PAGE = 6;
/** Pages whose creative stays in view: each must count exactly once. */
const VIEWED_PAGES = 4;
/** Pages viewed while the server is down: their events wait in the outbox across a SIGKILL. */
const OFFLINE_VIEWED_PAGES = 2;
/** A fixed install secret, so which slots are swapped is one fixed function of the page: the
 * statistical bound below is evaluated on a deterministic outcome and cannot flake. */
const INSTALL_SECRET_HEX = "6d656761626f782d6167656e742d6532652d696e7374616c6c2d736563726574";
/** z for a two-sided 99.9% normal interval around the binomial mean. */
const Z_999 = 3.29;
const CAMPAIGN_CPM_CENTS = 250;
const PASSWORD = "listen-to-the-music-42";
const SERVER_START_TIMEOUT_MS = 30_000;
const CONDITION_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 50;
/** How long a creative must stay ≥ 50% visible to count (MRC). */
const VIEW_DURATION_MS = 1_000;
/** Proving that something did NOT happen needs a wait: twice the view duration. */
const ABSENCE_WAIT_MS = 2 * VIEW_DURATION_MS;
const VIEWPORT = { width: 1280, height: 800 };
/** Filler that pushes a slot below the fold, so pages of the swap-rate sample never count a view. */
const BELOW_THE_FOLD_PX = 3 * VIEWPORT.height;
const SLOT_SIZES = [
  [300, 250],
  [728, 90],
  [300, 600],
];
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** Kills `child` with SIGKILL (if it still runs) and waits until it has exited. */
async function killAndWait(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
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

const delay = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Polls `probe` until it returns a truthy value; throws with `what` after the timeout. */
async function waitFor(what, probe, timeoutMs = CONDITION_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await delay(POLL_INTERVAL_MS);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** A valid RGB PNG of exactly width × height, a two-colour stripe pattern (CRC and zlib from node). */
function pngImage(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, index) => {
    let value = index;
    for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    return value >>> 0;
  });
  const crc32 = (bytes) => {
    let value = 0xffffffff;
    for (const byte of bytes) value = crcTable[(value ^ byte) & 0xff] ^ (value >>> 8);
    return (value ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x += 1) {
      const stripe = Math.floor((x + y) / 20) % 2 === 0;
      row.set(stripe ? [0x5b, 0x21, 0xb6] : [0xf5, 0xd0, 0x3b], 1 + x * 3);
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A test root and one leaf certificate for the three fixture hosts, made with openssl. */
function makeCertificates(directory) {
  const file = (name) => path.join(directory, name);
  const openssl = (args) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("root.key"), "-out", file("root.pem"),
    "-days", "2", "-subj", `/CN=${TEST_ROOT_NAME}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", file("leaf.key"), "-out", file("leaf.csr"), "-subj", `/CN=${PUBLISHER_HOST}`]);
  writeFileSync(file("leaf.ext"), [
    `subjectAltName=DNS:${PUBLISHER_HOST},DNS:${OTHER_HOST},DNS:${AD_NETWORK_HOST}`,
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
  ].join("\n"));
  openssl(["x509", "-req", "-in", file("leaf.csr"), "-CA", file("root.pem"), "-CAkey", file("root.key"), "-CAcreateserial", "-out", file("leaf.pem"), "-days", "2", "-extfile", file("leaf.ext")]);
  return { rootPemPath: file("root.pem"), key: readFileSync(file("leaf.key")), cert: readFileSync(file("leaf.pem")) };
}

// ---------------------------------------------------------------------------------------------
// The slot choice, recomputed from the install secret exactly as src/slots.rs does it.

const U64_MAX = (1n << 64n) - 1n;

function isCandidate(secret, pageUrl, slotKey) {
  const mac = createHmac("sha256", secret);
  for (const part of [pageUrl, slotKey]) {
    const bytes = Buffer.from(part, "utf8");
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(bytes.length));
    mac.update(length);
    mac.update(bytes);
  }
  const score = mac.digest().readBigUInt64BE(0);
  return score < (U64_MAX / 100n) * BigInt(SWAP_PERCENT);
}

/** The slot key the agent predicts to swap on a page (the first candidate), or null. */
function predictedSlot(secret, pagePath, slotKeys) {
  return slotKeys.find((key) => isCandidate(secret, `https://${PUBLISHER_HOST}${pagePath}`, key)) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Fixture pages. Every eligible slot is of a size Megabox sells; the slot key is what the agent
// names the slot by (its id, else `tag#n` for the n-th eligible slot on the page).

const html = (title, body, head = "") =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}<style>body{font:16px serif;margin:20px}.filler{height:${BELOW_THE_FOLD_PX}px;background:linear-gradient(#eee,#ccc)}</style></head><body>${body}</body></html>`;

/** One eligible slot of kind `index % 4` (GPT, AdSense, an ad-network iframe that EasyList
 * recognises, an element EasyList hides by id), its key, and whether the ad network is asked. */
function slotMarkup(index) {
  const [width, height] = SLOT_SIZES[index % SLOT_SIZES.length];
  switch (index % 4) {
    case 0:
      return {
        key: `div-gpt-ad-${index}-0`,
        selector: `#div-gpt-ad-${index}-0`,
        size: [width, height],
        adNetworkPath: `/gampad/ads?slot=${index}`,
        markup: `<div id="div-gpt-ad-${index}-0" style="width:${width}px;height:${height}px"><iframe src="https://${AD_NETWORK_HOST}/gampad/ads?slot=${index}" title="ad" style="border:0"></iframe></div>`,
      };
    case 1:
      return {
        key: "ins#1",
        selector: "ins.adsbygoogle",
        size: [width, height],
        adNetworkPath: null,
        markup: `<ins class="adsbygoogle" style="display:inline-block;width:${width}px;height:${height}px" data-ad-client="ca-pub-0000000000000000" data-ad-slot="${index}"></ins>`,
      };
    case 2:
      // Recognised only by EasyList's generic `/adserver.` network rule.
      return {
        key: "iframe#1",
        selector: `iframe[src*="adserver.html"]`,
        size: [width, height],
        adNetworkPath: `/adserver.html?slot=${index}`,
        markup: `<iframe src="https://${AD_NETWORK_HOST}/adserver.html?slot=${index}" width="${width}" height="${height}" title="ad"></iframe>`,
      };
    default:
      // Recognised only by EasyList's generic `###ad-slot-right` cosmetic rule.
      return { key: "ad-slot-right", selector: "#ad-slot-right", size: [width, height], adNetworkPath: null, markup: `<div id="ad-slot-right" style="width:${width}px;height:${height}px"></div>` };
  }
}

/** A look-alike that is not an ad: the same size, no ad markup. It must never be swapped. */
const decoy = `<div class="hero-image" style="width:300px;height:250px">Photo</div>`;

function buildSite(secret) {
  const pages = new Map();
  const add = (host, pagePath, body, headers = {}) => pages.set(`${host}${pagePath}`, { body: Buffer.from(body, "utf8"), headers });

  const articles = [];
  for (let index = 0; index < SWAP_RATE_PAGES; index += 1) {
    const slot = slotMarkup(index);
    const pagePath = `/article/${index}`;
    add(PUBLISHER_HOST, pagePath, html(`Article ${index}`, `<h1>Article ${index}</h1>${decoy}<div class="filler">story</div>${slot.markup}<p>more story</p>`));
    // Half the articles are streamed (chunked, no Content-Length), as many publishers send pages.
    if (index % 2 === 1) pages.get(`${PUBLISHER_HOST}${pagePath}`).chunked = true;
    articles.push({ pagePath, slot, predicted: predictedSlot(secret, pagePath, [slot.key]) !== null });
  }

  const multiSlotPages = [];
  for (let index = 0; index < MULTI_SLOT_PAGES; index += 1) {
    const pagePath = `/front/${index}`;
    const keys = Array.from({ length: SLOTS_PER_MULTI_PAGE }, (_, slot) => `div-gpt-ad-front-${index}-${slot}`);
    const slots = keys.map((key) => `<div id="${key}" style="width:300px;height:250px"></div>`).join("<p>between</p>");
    add(PUBLISHER_HOST, pagePath, html(`Front ${index}`, `<h1>Front page ${index}</h1><div class="filler"></div>${slots}`));
    multiSlotPages.push({ pagePath, keys, predicted: predictedSlot(secret, pagePath, keys) });
  }

  /** Paths `${prefix}/${n}` whose single visible GPT slot the agent will swap, `count` of them. */
  const swappedVisiblePages = (prefix, count, extra = "") => {
    const chosen = [];
    for (let index = 0; chosen.length < count; index += 1) {
      const pagePath = `${prefix}/${index}`;
      const key = `div-gpt-ad-${prefix.slice(1)}-${index}`;
      if (predictedSlot(secret, pagePath, [key]) === null) continue;
      const body = `<h1>Viewable ${pagePath}</h1><div id="${key}" style="width:300px;height:250px"></div><p>text</p>${extra}`;
      chosen.push({ pagePath, key });
      add(PUBLISHER_HOST, pagePath, html(`Page ${pagePath}`, body));
    }
    return chosen;
  };
  const viewedPages = swappedVisiblePages("/view", VIEWED_PAGES);
  const [scrollPage] = swappedVisiblePages("/scroll", 1, `<div class="filler"></div><div class="filler"></div>`);
  const offlinePages = swappedVisiblePages("/offline", OFFLINE_VIEWED_PAGES);
  const [pausedPage] = swappedVisiblePages("/paused", 1);

  // Pages that must come through byte-identical.
  const unchangedPages = [];
  const noSlots = [
    ["/plain/0", html("Plain", "<h1>No ads here</h1><p>Just text.</p>")],
    ["/plain/1", html("Plain long", `<h1>Long read</h1>${"<p>Paragraph of a long article, with no advertising at all.</p>".repeat(5_000)}`)],
    ["/plain/2", html("Decoys", `<h1>Look-alikes</h1>${decoy}<div id="gallery" style="width:728px;height:90px"></div><iframe src="https://${OTHER_HOST}/embed" width="300" height="250" title="embed"></iframe>`)],
    ["/plain/3", html("Odd sizes", `<div id="div-gpt-ad-odd" style="width:123px;height:45px"></div><ins class="adsbygoogle" style="width:10px;height:10px"></ins>`)],
  ];
  for (const [pagePath, body] of noSlots) {
    add(PUBLISHER_HOST, pagePath, body);
    unchangedPages.push({ host: PUBLISHER_HOST, pagePath, why: "no eligible slot" });
  }
  // A publisher page whose CSP would block the creative: even a slot the agent would choose stays.
  const [cspPage] = swappedVisiblePages("/strict", 1);
  pages.get(`${PUBLISHER_HOST}${cspPage.pagePath}`).headers = { "Content-Security-Policy": "script-src 'self'; frame-src 'self'" };
  unchangedPages.push({ host: PUBLISHER_HOST, pagePath: cspPage.pagePath, why: "a strict Content-Security-Policy" });
  for (let index = 0; index < 4; index += 1) {
    const pagePath = `/post/${index}`;
    add(OTHER_HOST, pagePath, html(`Blog ${index}`, `<h1>Blog post ${index}</h1>${slotMarkup(index).markup}<div id="div-gpt-ad-blog-${index}" style="width:300px;height:250px"></div>`));
    unchangedPages.push({ host: OTHER_HOST, pagePath, why: "a host outside the allow-list" });
  }
  add(OTHER_HOST, "/embed", html("Embed", "<p>embedded</p>"));
  return { pages, articles, multiSlotPages, viewedPages, scrollPage, offlinePages, pausedPage, unchangedPages };
}

/** The ad network answers every ad request with a small page and remembers the path. */
function startFixtures(tls, site) {
  const adNetworkRequests = [];
  const served = [];
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const host = (request.headers.host ?? "").replace(/:\d+$/, "");
    if (host === AD_NETWORK_HOST) {
      adNetworkRequests.push(request.url);
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      response.end(`<!doctype html><body style="margin:0;background:#fdd">Someone else's ad ${request.url}</body>`);
      return;
    }
    const page = site.pages.get(`${host}${request.url}`);
    if (!page) {
      response.writeHead(404, { "Content-Type": "text/plain" });
      response.end("not found");
      return;
    }
    served.push(`${host}${request.url}`);
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8", ...(page.chunked ? {} : { "Content-Length": page.body.length }), ...page.headers });
    if (page.chunked) {
      const half = Math.floor(page.body.length / 2);
      response.write(page.body.subarray(0, half));
      response.end(page.body.subarray(half));
    } else {
      response.end(page.body);
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: server.address().port, adNetworkRequests, served })));
}

// ---------------------------------------------------------------------------------------------
// The megabox server and its REST API.

class MegaboxServer {
  constructor(dataDirectory, port, log) {
    this.dataDirectory = dataDirectory;
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.log = log;
    this.process = null;
  }

  environment() {
    return { ...process.env, MEGABOX_BIND: `127.0.0.1:${this.port}`, MEGABOX_DATA_DIR: this.dataDirectory };
  }

  async start() {
    const child = spawn(megaboxBinary, ["serve"], { env: this.environment(), stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (chunk) => this.log.push(String(chunk)));
    this.process = child;
    await waitFor("megabox serve to be healthy", async () => {
      if (child.exitCode !== null) throw new Error(`megabox serve exited with ${child.exitCode}`);
      return (await fetch(`${this.baseUrl}/healthz`)).ok;
    }, SERVER_START_TIMEOUT_MS);
  }

  async stop() {
    // SIGKILL: quick, and the harshest way for the server to become unreachable.
    const child = this.process;
    this.process = null;
    await killAndWait(child);
  }

  async call(method, apiPath, { token, json, body, headers = {} } = {}) {
    const response = await fetch(`${this.baseUrl}/api/v1${apiPath}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { "Content-Type": "application/json" } : {}), ...headers },
      body: json !== undefined ? JSON.stringify(json) : body,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${apiPath} answered ${response.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  }
}

// ---------------------------------------------------------------------------------------------
// The agent process.

class AgentProcess {
  constructor(directory, port, environment, log) {
    this.directory = directory;
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
    this.environment = { ...process.env, ...environment, MEGABOX_AGENT_DIR: directory, MEGABOX_AGENT_BIND: `127.0.0.1:${port}` };
    this.log = log;
    this.process = null;
  }

  run(args) {
    return execFileSync(agentBinary, args, { env: this.environment, stdio: ["ignore", "pipe", "pipe"] }).toString();
  }

  async start() {
    const child = spawn(agentBinary, ["run"], { env: this.environment, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => this.log.push(String(chunk)));
    child.stderr.on("data", (chunk) => this.log.push(String(chunk)));
    this.process = child;
    await waitFor("the agent to listen", async () => {
      if (child.exitCode !== null) throw new Error(`megabox-agent run exited with ${child.exitCode}: ${this.log.join("").slice(-500)}`);
      return (await fetch(`${this.origin}/megabox/status.json`)).ok;
    }, SERVER_START_TIMEOUT_MS);
  }

  async status() {
    return (await fetch(`${this.origin}/megabox/status.json`)).json();
  }

  /** SIGKILL: no chance to flush anything, as in a crash or a pulled plug. */
  async kill() {
    const child = this.process;
    this.process = null;
    await killAndWait(child);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  for (const [what, file] of [["megabox", megaboxBinary], ["megabox-agent", agentBinary], ["chromium", chromiumBinary], ["EasyList", easyListPath]]) {
    if (!existsSync(file)) throw new Error(`no ${what} at ${file} (build with \`cargo build -p megabox-store --bin megabox -p megabox-agent\`)`);
  }
  rmSync(artifactsDirectory, { recursive: true, force: true });
  mkdirSync(artifactsDirectory, { recursive: true });
  const temporary = mkdtempSync(path.join(os.tmpdir(), "megabox-agent-e2e-"));
  const serverLog = [];
  const agentLog = [];
  const secret = Buffer.from(INSTALL_SECRET_HEX, "hex");
  const site = buildSite(secret);
  const tls = makeCertificates(temporary);
  const fixtures = await startFixtures(tls, site);
  const server = new MegaboxServer(path.join(temporary, "server"), await freePort(), serverLog);
  let agent = null;
  let browser = null;
  let passed = 0;
  let failed = 0;
  let page = null;
  let stepNumber = 0;

  async function step(name, action) {
    stepNumber += 1;
    const started = Date.now();
    try {
      await action();
      passed += 1;
      console.log(`ok   ${stepNumber} ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${stepNumber} ${name}: ${error instanceof Error ? error.message : error}`);
    }
    if (page) {
      const file = path.join(artifactsDirectory, `${String(stepNumber).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase().slice(0, 60)}.png`);
      await page.screenshot({ path: file }).catch(() => undefined);
    }
  }

  try {
    // --- The server, an operator, a campaign with creatives, an installer with a pairing code.
    execFileSync(megaboxBinary, ["admin", "create", "--email", "operator@example.com"], {
      env: { ...server.environment(), MEGABOX_ADMIN_PASSWORD: PASSWORD },
      stdio: ["ignore", "pipe", "pipe"],
    });
    await server.start();
    const operator = (await server.call("POST", "/auth/login", { json: { email: "operator@example.com", password: PASSWORD } })).access_token;
    const advertiser = await server.call("POST", "/admin/advertisers", { token: operator, json: { name: "Harbour Records" } });
    const now = Date.now();
    const campaign = await server.call("POST", "/admin/campaigns", {
      token: operator,
      json: { advertiser_id: advertiser.id, name: "Spring release", cpm_cents: CAMPAIGN_CPM_CENTS, budget_cents: 1_000_000, starts_at: new Date(now - 3_600_000).toISOString(), ends_at: new Date(now + 30 * 86_400_000).toISOString() },
    });
    const creatives = new Map();
    for (const [width, height] of SLOT_SIZES) {
      const form = new FormData();
      form.append("file", new Blob([pngImage(width, height)], { type: "image/png" }), `creative-${width}x${height}.png`);
      const query = new URLSearchParams({ size: `${width}x${height}`, headline: `Harbour Lights ${width}x${height}`, body: "New album, free with Megabox", link_url: "https://megabox.example/releases/harbour-lights" });
      const creative = await server.call("POST", `/admin/campaigns/${campaign.id}/creatives?${query}`, { token: operator, body: form });
      creatives.set(`${width}x${height}`, creative);
    }
    const installerEmail = `installer-${now.toString(36)}@example.com`;
    const installer = (await server.call("POST", "/auth/register", { json: { email: installerEmail, password: PASSWORD, display_name: "Ina Installer", role: "listener" } })).access_token;
    const pairingCode = (await server.call("POST", "/devices/pairing-codes", { token: installer })).code;

    // --- The agent: a fixed install secret, paired, then running as the browser's proxy.
    const agentDirectory = path.join(temporary, "agent");
    mkdirSync(agentDirectory, { mode: 0o700 });
    writeFileSync(path.join(agentDirectory, "install.secret"), INSTALL_SECRET_HEX, { mode: 0o600 });
    const fixtureAddress = `127.0.0.1:${fixtures.port}`;
    agent = new AgentProcess(agentDirectory, await freePort(), {
      MEGABOX_AGENT_INTERCEPT: PUBLISHER_HOST,
      MEGABOX_AGENT_RESOLVE: [PUBLISHER_HOST, OTHER_HOST, AD_NETWORK_HOST].map((host) => `${host}=${fixtureAddress}`).join(","),
      MEGABOX_AGENT_EXTRA_ROOTS: tls.rootPemPath,
      MEGABOX_AGENT_FILTER_LISTS: easyListPath,
      MEGABOX_AGENT_SWAP_PERCENT: String(SWAP_PERCENT),
      // The sample below swaps more than the default 30 a day; the server's own cap still holds.
      MEGABOX_AGENT_DAILY_CAP: "1000",
      RUST_LOG: "megabox_agent=info,hudsucker=warn",
    }, agentLog);
    console.log(agent.run(["pair", pairingCode, "--server", server.baseUrl]).trim().split("\n")[0]);
    await agent.start();

    // --- Chromium: a fresh HOME whose NSS database trusts the agent's CA and the fixtures' root.
    const home = path.join(temporary, "home");
    const nssDatabase = `sql:${path.join(home, ".pki", "nssdb")}`;
    mkdirSync(path.join(home, ".pki", "nssdb"), { recursive: true });
    execFileSync("certutil", ["-N", "-d", nssDatabase, "--empty-password"]);
    execFileSync("certutil", ["-A", "-d", nssDatabase, "-t", "C,,", "-n", "megabox-agent", "-i", path.join(agentDirectory, "ca.pem")]);
    execFileSync("certutil", ["-A", "-d", nssDatabase, "-t", "C,,", "-n", "e2e-test-root", "-i", tls.rootPemPath]);
    browser = await chromium.launch({
      executablePath: chromiumBinary,
      args: [...CHROMIUM_ARGS, `--proxy-server=http://127.0.0.1:${agent.port}`],
      env: { ...process.env, HOME: home },
    });
    const context = await browser.newContext({ viewport: VIEWPORT });
    context.setDefaultTimeout(CONDITION_TIMEOUT_MS);
    page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    const issuers = new Map();
    page.on("response", async (response) => {
      const host = new URL(response.url()).hostname;
      const details = await response.securityDetails().catch(() => null);
      if (details) issuers.set(host, new Set([...(issuers.get(host) ?? []), details.issuer]));
    });

    const swappedFrame = () => page.locator("iframe[data-megabox-ad]");
    async function visit(host, pagePath) {
      const response = await page.goto(`https://${host}${pagePath}`, { waitUntil: "load" });
      expect(response && response.status() === 200, `${host}${pagePath} answered ${response?.status()}`);
      return response;
    }
    const serverStatus = () => server.call("GET", "/installer/status", { token: installer });

    // -----------------------------------------------------------------------------------------
    await step("swap rate over many pages matches the setting, exactly the slots the install secret picks", async () => {
      const observed = [];
      for (const article of site.articles) {
        await visit(PUBLISHER_HOST, article.pagePath);
        const frames = await swappedFrame().count();
        const originalLeft = await page.locator(article.slot.selector).count();
        const decoyLeft = await page.locator(".hero-image").count();
        expect(frames <= 1, `${article.pagePath}: ${frames} creatives`);
        expect(decoyLeft === 1, `${article.pagePath}: the look-alike that is not an ad was touched`);
        expect((frames === 1) === (originalLeft === 0), `${article.pagePath}: creative shown ${frames === 1} but original slot present ${originalLeft > 0}`);
        observed.push(frames === 1);
      }
      const mismatched = site.articles.filter((article, index) => article.predicted !== observed[index]).map((article) => article.pagePath);
      expectEqual(mismatched, [], "pages where the swap differs from HMAC(install secret, page, slot)");
      const swaps = observed.filter(Boolean).length;
      const mean = (SWAP_RATE_PAGES * SWAP_PERCENT) / 100;
      const deviation = Math.sqrt(mean * (1 - SWAP_PERCENT / 100));
      const [low, high] = [Math.floor(mean - Z_999 * deviation), Math.ceil(mean + Z_999 * deviation)];
      console.log(`     ${swaps} of ${SWAP_RATE_PAGES} eligible slots swapped (${((100 * swaps) / SWAP_RATE_PAGES).toFixed(1)}%, setting ${SWAP_PERCENT}%, 99.9% interval ${low}..${high})`);
      expect(swaps >= low && swaps <= high, `swap count ${swaps} outside ${low}..${high}`);
      // The real EasyList alone made the iframe and `#ad-slot-right` kinds eligible: some of each were swapped.
      for (const kind of [2, 3]) {
        const swappedOfKind = site.articles.filter((article, index) => index % 4 === kind && observed[index]).length;
        expect(swappedOfKind > 0, `no slot recognised only through EasyList (kind ${kind}) was swapped`);
      }
    });

    await step("the original ad request of a swapped slot is never made; unswapped slots still load theirs", async () => {
      for (const article of site.articles.filter((candidate) => candidate.slot.adNetworkPath !== null)) {
        const requested = fixtures.adNetworkRequests.includes(article.slot.adNetworkPath);
        expect(requested === !article.predicted, `${article.pagePath}: ad network asked ${requested}, swapped ${article.predicted}`);
      }
    });

    await step("at most one slot per page, the first the install secret picks", async () => {
      let pagesWithSwap = 0;
      for (const front of site.multiSlotPages) {
        await visit(PUBLISHER_HOST, front.pagePath);
        expect((await swappedFrame().count()) === (front.predicted === null ? 0 : 1), `${front.pagePath}: wrong number of creatives`);
        const remaining = await page.locator("[id^=div-gpt-ad-front-]").evaluateAll((elements) => elements.map((element) => element.id));
        expectEqual(front.keys.filter((key) => !remaining.includes(key)), front.predicted === null ? [] : [front.predicted], `${front.pagePath} swapped slots`);
        if (front.predicted !== null) pagesWithSwap += 1;
      }
      expect(pagesWithSwap > 0, "no multi-slot page had a candidate");
    });

    const statusBeforeViews = await agent.status();
    await step("slots below the fold were never counted as views", async () => {
      expectEqual(statusBeforeViews.impressions_today, 0, "views counted for creatives nobody saw");
    });

    await step("a page script cannot claim a view with the nonce it reads from the frame's src", async () => {
      // An article's slot is below the fold: its frame never claims the view, so the nonce stays unused.
      const article = site.articles.find((candidate) => candidate.predicted);
      await visit(PUBLISHER_HOST, article.pagePath);
      const frame = await waitFor("the creative frame", () => page.frames().find((candidate) => candidate.url().includes("/megabox/frame")));
      await frame.waitForLoadState("domcontentloaded");
      await delay(ABSENCE_WAIT_MS); // past the second a view has to last
      const attempt = await page.evaluate(async () => {
        const frameElement = document.querySelector("iframe[data-megabox-ad]");
        const source = new URL(frameElement.src);
        const nonce = source.searchParams.get("nonce");
        const delivered = [];
        for (const claim of [{ nonce }, { nonce, token: "A".repeat(43) }]) {
          // Sent as the frame's own beacon is; the fetch resolves only if the agent answered.
          const answered = await fetch(`${source.origin}/megabox/view`, { method: "POST", mode: "no-cors", body: JSON.stringify(claim) }).then(() => true, () => false);
          delivered.push(answered);
        }
        return { frameReadable: frameElement.contentDocument !== null, delivered };
      });
      expectEqual(attempt, { frameReadable: false, delivered: [true, true] }, "the page's forged claims (sent, frame unreadable)");
      const status = await agent.status();
      expectEqual([status.impressions_today, status.impressions_waiting], [0, 0], "agent's views after the page's forged claims");
      expectEqual((await serverStatus()).impressions_today, 0, "server's impressions after the page's forged claims");
    });

    let viewsCounted = 0;
    await step("a swapped slot shows the labelled, sandboxed creative of the slot's size", async () => {
      const { pagePath } = site.viewedPages[0];
      await visit(PUBLISHER_HOST, pagePath);
      const frameElement = swappedFrame();
      expectEqual(await frameElement.count(), 1, "creatives on the page");
      expectEqual(await frameElement.getAttribute("sandbox"), "allow-scripts allow-popups allow-popups-to-escape-sandbox", "sandbox");
      const box = await frameElement.boundingBox();
      expectEqual([Math.round(box.width), Math.round(box.height)], [300, 250], "creative size");
      const frame = page.frameLocator("iframe[data-megabox-ad]");
      await frame.getByText("Megabox ad", { exact: true }).waitFor({ state: "visible" });
      const link = await frame.locator("a").getAttribute("href");
      expectEqual(link, "https://megabox.example/releases/harbour-lights", "creative link");
      // The uploaded PNG, fetched by the browser from the paired server and allowed by the frame's CSP.
      const image = frame.getByRole("img", { name: /^Harbour Lights 300x250/ });
      await image.waitFor({ state: "visible" });
      await waitFor("the creative image to load", () => image.evaluate((element) => element.complete && element.naturalWidth === 300 && element.naturalHeight === 250));
      expectEqual(await image.getAttribute("src"), `${server.baseUrl}/api/v1/ads/creatives/${creatives.get("300x250").id}/image`, "image source");
      await waitFor("the view to be counted", async () => (await agent.status()).impressions_today === 1);
      viewsCounted = 1;
    });

    await step("viewable impressions are counted once each, after one second in view", async () => {
      for (const { pagePath } of site.viewedPages.slice(1)) {
        const navigationStarted = Date.now();
        await visit(PUBLISHER_HOST, pagePath);
        await waitFor(`the view on ${pagePath}`, async () => (await agent.status()).impressions_today === viewsCounted + 1);
        expect(Date.now() - navigationStarted >= VIEW_DURATION_MS, `${pagePath}: counted ${Date.now() - navigationStarted} ms after the page was requested`);
        viewsCounted += 1;
      }
      // Staying on a counted page does not count it twice.
      await delay(ABSENCE_WAIT_MS);
      expectEqual((await agent.status()).impressions_today, viewsCounted, "views after staying on the last page");
    });

    await step("a creative scrolled out of view within 1 s is not counted (and counts once back in view)", async () => {
      // Scroll as soon as the frame's script has run (it runs before the frame's DOMContentLoaded),
      // without waiting for the page's load event, so the creative is in view for well under 1 s.
      await page.goto(`https://${PUBLISHER_HOST}${site.scrollPage.pagePath}`, { waitUntil: "domcontentloaded" });
      const frame = await waitFor("the creative frame", () => page.frames().find((candidate) => candidate.url().includes("/megabox/frame")));
      await frame.waitForLoadState("domcontentloaded");
      const frameStartedAt = await frame.evaluate(() => performance.timeOrigin);
      const scrolledAt = await page.evaluate(() => {
        window.scrollTo(0, document.body.scrollHeight);
        return performance.timeOrigin + performance.now();
      });
      console.log(`     scrolled out of view ${Math.round(scrolledAt - frameStartedAt)} ms after the frame started loading`);
      expect(scrolledAt - frameStartedAt < VIEW_DURATION_MS, `the scroll came ${Math.round(scrolledAt - frameStartedAt)} ms after the frame started`);
      await delay(ABSENCE_WAIT_MS);
      expectEqual((await agent.status()).impressions_today, viewsCounted, "views after scrolling the creative away");
      await page.evaluate(() => window.scrollTo(0, 0));
      await waitFor("the view once back in view", async () => (await agent.status()).impressions_today === viewsCounted + 1);
      viewsCounted += 1;
    });

    await step("the impressions reach the server once each and credit the installer's account", async () => {
      await waitFor("the outbox to empty", async () => {
        const status = await agent.status();
        return status.impressions_waiting === 0 && status.impressions_accepted === viewsCounted;
      });
      const status = await serverStatus();
      expectEqual([status.impressions_today, status.accepted_impressions_7d], [viewsCounted, viewsCounted], "server's impression counts");
      expect(status.agent_active, "the account is not agent-active (free streaming) after its impressions");
      const [campaignNow] = (await server.call("GET", "/admin/campaigns", { token: operator })).filter((candidate) => candidate.id === campaign.id);
      expectEqual(campaignNow.spent_micro_cents, viewsCounted * CAMPAIGN_CPM_CENTS * 1_000, "campaign spend (CPM/1000 per impression, in micro-cents)");
    });

    await step("pages without slots, with a strict CSP, and of other hosts come through byte-identical", async () => {
      for (const { host, pagePath, why } of site.unchangedPages) {
        const response = await visit(host, pagePath);
        const expected = site.pages.get(`${host}${pagePath}`).body;
        const received = await response.body();
        expect(received.equals(expected), `${host}${pagePath} (${why}) changed: ${received.length} bytes, fixture ${expected.length}`);
        expectEqual(await swappedFrame().count(), 0, `creatives on ${host}${pagePath}`);
      }
    });

    await step("hosts outside the allow-list are blind tunnels: the browser sees their own certificate", async () => {
      expectEqual([...(issuers.get(PUBLISHER_HOST) ?? [])], [AGENT_CA_NAME], `issuers seen for ${PUBLISHER_HOST}`);
      for (const host of [OTHER_HOST, AD_NETWORK_HOST]) expectEqual([...(issuers.get(host) ?? [])], [TEST_ROOT_NAME], `issuers seen for ${host}`);
      const refusals = agentLog.join("").split("\n").filter((line) => line.includes("refused to mint"));
      expectEqual(refusals, [], "the agent was asked for a certificate outside the allow-list");
    });

    await step("events recorded while the server is down survive SIGKILL and are delivered exactly once", async () => {
      await server.stop();
      for (const { pagePath } of site.offlinePages) {
        await visit(PUBLISHER_HOST, pagePath);
        await waitFor(`the offline view on ${pagePath}`, async () => (await agent.status()).impressions_today === viewsCounted + 1);
        viewsCounted += 1;
      }
      await page.goto("about:blank");
      const waiting = (await agent.status()).impressions_waiting;
      expectEqual(waiting, OFFLINE_VIEWED_PAGES, "events waiting in the outbox");
      const journal = readFileSync(path.join(agentDirectory, "outbox.journal"), "utf8");
      expect(journal.split("\n").filter((line) => line.includes('"record":"event"')).length >= OFFLINE_VIEWED_PAGES, "the events are not in the journal on disk");
      await agent.kill();
      await server.start();
      await agent.start();
      await waitFor("the restarted agent to deliver its outbox", async () => (await agent.status()).impressions_waiting === 0);
      const status = await serverStatus();
      expectEqual([status.impressions_today, status.accepted_impressions_7d], [viewsCounted, viewsCounted], "server's impression counts after the crash");
      const [campaignNow] = (await server.call("GET", "/admin/campaigns", { token: operator })).filter((candidate) => candidate.id === campaign.id);
      expectEqual(campaignNow.spent_micro_cents, viewsCounted * CAMPAIGN_CPM_CENTS * 1_000, "campaign spend after the crash");
    });

    // Last: a paused agent tunnels news.test blindly, and Chromium would keep reusing such a connection.
    await step("one click pauses the agent: pages pass untouched; resume restores swapping", async () => {
      await page.goto(agent.origin);
      await page.getByRole("button", { name: "Pause" }).click();
      await page.getByText("paused", { exact: true }).waitFor({ state: "visible" });
      await page.screenshot({ path: path.join(artifactsDirectory, "status-page-paused.png") });
      const response = await visit(PUBLISHER_HOST, site.pausedPage.pagePath);
      expect((await response.body()).equals(site.pages.get(`${PUBLISHER_HOST}${site.pausedPage.pagePath}`).body), "a page changed while paused");
      await page.goto(agent.origin);
      await page.getByRole("button", { name: "Resume" }).click();
      await page.getByText("active", { exact: true }).waitFor({ state: "visible" });
      expectEqual((await agent.status()).paused, false, "paused after resume");
    });

    await step("no errors in the pages", async () => {
      expectEqual(pageErrors, [], "page errors");
    });
  } catch (error) {
    failed += 1;
    console.log(`FAIL setup: ${error instanceof Error ? error.stack : error}`);
  } finally {
    await browser?.close().catch(() => undefined);
    await agent?.kill();
    await server.stop().catch(() => undefined);
    fixtures.server.close();
    writeFileSync(path.join(artifactsDirectory, "agent.log"), agentLog.join(""));
    writeFileSync(path.join(artifactsDirectory, "server.log"), serverLog.join(""));
    rmSync(temporary, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
