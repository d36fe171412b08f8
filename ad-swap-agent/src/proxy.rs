//! The local proxy on 127.0.0.1 (hudsucker): plain HTTP is proxied, HTTPS is decrypted only for
//! allow-listed publishers (everything else is a blind CONNECT tunnel), publisher pages go
//! through the rewriter, and the agent's own pages (status, creative frame, view beacon) are
//! served on the same port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt as _;
use hudsucker::futures::StreamExt as _;
use hudsucker::hyper::body::Bytes;
use hudsucker::hyper::header::{self, HeaderValue};
use hudsucker::hyper::http::uri::Authority;
use hudsucker::hyper::{Method, Request, Response, StatusCode};
use hudsucker::{Body, HttpContext, HttpHandler, RequestOrResponse};
use megabox_protocol::{Creative, EventId, ImpressionEvent, Nonce, SlotSize, TimeBucket};

use crate::filters::FilterEngine;
use crate::install::{AgentState, InstallDirectory};
use crate::outbox::Outbox;
use crate::rewrite::{CreativeOrigin, PageRewrite, RewriteLimits, Unchanged};
use crate::server::ServerClient;
use crate::settings::Settings;
use crate::slots::{DailyCount, SlotChooser};
use crate::viewability::{NonceRegistry, VIEWABILITY_SCRIPT, ViewClaim, ViewRefused};

/// The creative frame's Content-Security-Policy before its image source is added.
const FRAME_POLICY: &str =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'";

const VIEWABILITY_TAG: &str = r#"<script src="/megabox/viewability.js"></script>"#;

/// Where a creative's image comes from, and the origin the frame's policy allows for it.
#[derive(Debug, PartialEq, Eq)]
struct ImageSource {
    url: String,
    origin: String,
}

/// Resolves a creative's server-relative `image_path` against the paired server's URL. The path
/// must be a plain absolute path (no `//`, no scheme, URL-safe characters only), so whatever a
/// creative says, the browser fetches its image from the paired server's origin and nowhere else.
fn creative_image_source(server_url: &str, image_path: &str) -> Option<ImageSource> {
    let (scheme, rest) = server_url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let authority_valid = !authority.is_empty()
        && authority
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte));
    let path_valid = image_path.starts_with('/')
        && !image_path.starts_with("//")
        && image_path
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~/%".contains(&byte));
    if !matches!(scheme, "http" | "https") || !authority_valid || !path_valid {
        return None;
    }
    let origin = format!("{scheme}://{authority}");
    Some(ImageSource {
        url: format!("{origin}{image_path}"),
        origin,
    })
}

/// Largest body the agent accepts on its own endpoints (view beacons, buttons).
const LOCAL_REQUEST_BYTES_MAX: usize = 1024;

const SECONDS_PER_DAY: u64 = 86_400;

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Everything the running agent shares between connections.
pub struct Agent {
    pub settings: Settings,
    pub directory: InstallDirectory,
    pub filters: FilterEngine,
    pub chooser: SlotChooser,
    pub nonces: Mutex<NonceRegistry>,
    pub outbox: Mutex<Outbox>,
    pub state: Mutex<AgentState>,
    pub server: Option<ServerClient>,
    pub creatives: Mutex<HashMap<SlotSize, Creative>>,
    pub limits: RewriteLimits,
    /// Wakes the reporter when a view is recorded, so an impression leaves within moments
    /// instead of waiting for the next idle poll.
    pub report_wakeup: tokio::sync::Notify,
}

/// Errors when assembling the agent from its files.
#[derive(Debug, thiserror::Error)]
pub enum AgentStartError {
    #[error(transparent)]
    Install(#[from] crate::install::InstallError),
    #[error(transparent)]
    Outbox(#[from] crate::outbox::OutboxError),
}

impl Agent {
    /// Assembles the agent from its install directory; `server` is `None` until paired.
    pub fn new(
        settings: Settings,
        directory: InstallDirectory,
        filters: FilterEngine,
        server: Option<ServerClient>,
    ) -> Result<Self, AgentStartError> {
        Ok(Self {
            chooser: SlotChooser::new(directory.install_secret()?, settings.slot_choice),
            filters,
            nonces: Mutex::new(NonceRegistry::default()),
            outbox: Mutex::new(Outbox::open(&directory.path(crate::install::OUTBOX_FILE))?),
            state: Mutex::new(directory.state()?),
            server,
            creatives: Mutex::default(),
            limits: RewriteLimits::default(),
            report_wakeup: tokio::sync::Notify::new(),
            settings,
            directory,
        })
    }

    fn is_paused(&self) -> bool {
        self.state.lock().map(|state| state.paused).unwrap_or(true)
    }

    /// True when a CONNECT to `host` is decrypted; every other CONNECT is a blind tunnel.
    fn intercepts(&self, host: &str) -> bool {
        !self.is_paused() && self.settings.allow_list.contains(host)
    }

    /// Sets the paused flag and persists it.
    pub fn set_paused(&self, paused: bool) -> Result<(), crate::install::InstallError> {
        self.change_state(|state| state.paused = paused)
    }

    /// Changes the state and persists it. The file is written while the lock is held: two
    /// writers at once would share the temporary file, and an older snapshot could land last.
    fn change_state(
        &self,
        change: impl FnOnce(&mut AgentState),
    ) -> Result<(), crate::install::InstallError> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        change(&mut state);
        self.directory.save_state(&state)
    }

    /// Today's value of one of the daily counts in the state.
    fn today(&self, count: impl Fn(&AgentState) -> DailyCount) -> u32 {
        let day = unix_seconds() / SECONDS_PER_DAY;
        self.state
            .lock()
            .map(|state| count(&state).on(day))
            .unwrap_or(u32::MAX)
    }

    /// Changes the state and persists it; a failed write only loses a counter update.
    fn update_state(&self, change: impl FnOnce(&mut AgentState)) {
        if let Err(error) = self.change_state(change) {
            tracing::warn!(%error, "could not persist the agent state");
        }
    }

    fn swaps_today(&self) -> u32 {
        self.today(|state| state.swaps)
    }

    fn record_swap(&self) {
        let day = unix_seconds() / SECONDS_PER_DAY;
        self.update_state(|state| state.swaps = state.swaps.record(day));
    }

    /// A CONNECT that will not be intercepted is tunnelled by hudsucker, which dials the target
    /// itself rather than through the upstream connector; `MEGABOX_AGENT_RESOLVE` overrides are
    /// applied here so they hold for blind tunnels too. Intercepted hosts keep their name (the
    /// connector resolves them, and certificates are minted for the name).
    fn tunnel_target(&self, mut request: Request<Body>) -> Request<Body> {
        let Some(host) = request.uri().host().map(str::to_ascii_lowercase) else {
            return request;
        };
        if self.intercepts(&host) {
            return request;
        }
        if let Some(address) = self.settings.resolve_overrides.get(&host)
            && let Ok(target) = address.to_string().parse::<hudsucker::hyper::Uri>()
        {
            *request.uri_mut() = target;
        }
        request
    }

    fn origin(&self) -> String {
        format!("http://{}", self.settings.bind)
    }

    /// Status as JSON (the status page and `megabox-agent status` read it).
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "paused": self.is_paused(),
            "paired": self.server.is_some(),
            "swaps_today": self.swaps_today(),
            "swaps_per_day_max": self.settings.slot_choice.swaps_per_day_max,
            "impressions_today": self.today(|state| state.impressions),
            "impressions_accepted": self.state.lock().map(|state| state.impressions_accepted).unwrap_or(0),
            "impressions_waiting": self.outbox.lock().map(|outbox| outbox.pending_events()).unwrap_or(0),
            "publishers": self.settings.allow_list.domains(),
        })
    }
}

/// The page whose response is awaited on this connection.
#[derive(Clone, Debug)]
struct PendingPage {
    url: String,
}

/// hudsucker handler; one clone per connection.
#[derive(Clone)]
pub struct AgentHandler {
    agent: Arc<Agent>,
    page: Option<PendingPage>,
}

impl AgentHandler {
    pub fn new(agent: Arc<Agent>) -> Self {
        Self { agent, page: None }
    }

    /// True for requests to the agent itself: direct ones (origin-form, no authority in the URI)
    /// and proxied ones addressed to its own address.
    fn is_local(&self, request: &Request<Body>) -> bool {
        request
            .uri()
            .authority()
            .is_none_or(|authority| self.names_agent(authority))
    }

    /// True when `authority` is the agent's bind address, or `localhost` on its port.
    fn names_agent(&self, authority: &Authority) -> bool {
        let bind = self.agent.settings.bind;
        authority.as_str() == bind.to_string()
            || (authority.host() == "localhost" && authority.port_u16() == Some(bind.port()))
    }

    /// A request that reached the agent under another name: DNS rebinding, a website's own name
    /// pointed at 127.0.0.1 so that its pages count as same-origin with whatever the agent answers.
    /// Such a page could otherwise read a creative frame's view token, or the status.
    fn misdirected(&self, request: &Request<Body>) -> bool {
        let host = request.uri().authority().cloned().or_else(|| {
            request
                .headers()
                .get(header::HOST)?
                .to_str()
                .ok()?
                .parse()
                .ok()
        });
        !host.is_some_and(|host| self.names_agent(&host))
    }
}

fn response(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("text/plain")),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html_escape(text: &str) -> String {
    text.chars()
        .map(|character| match character {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// Reads a small request body, refusing anything larger than `LOCAL_REQUEST_BYTES_MAX`.
async fn small_body(body: Body) -> Option<Bytes> {
    let limited = http_body_util::Limited::new(body, LOCAL_REQUEST_BYTES_MAX);
    limited
        .collect()
        .await
        .ok()
        .map(|collected| collected.to_bytes())
}

fn query_parameter<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        pair.split_once('=')
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
    })
}

/// Buttons on the status page must come from the status page itself, not from any website.
fn same_origin(request: &Request<Body>, origin: &str) -> bool {
    match request.headers().get(header::ORIGIN) {
        Some(value) => value.to_str().is_ok_and(|value| value == origin),
        None => request
            .headers()
            .get("sec-fetch-site")
            .is_none_or(|site| site == "same-origin" || site == "none"),
    }
}

impl AgentHandler {
    async fn serve_local(&self, request: Request<Body>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or("").to_owned();
        if self.misdirected(&request) {
            return response(
                StatusCode::MISDIRECTED_REQUEST,
                "text/plain",
                "this is the Megabox agent; use its own address",
            );
        }
        match (request.method().clone(), path.as_str()) {
            (Method::GET, "/") => response(
                StatusCode::OK,
                "text/html; charset=utf-8",
                self.status_page(),
            ),
            (Method::GET, "/megabox/status.json") => response(
                StatusCode::OK,
                "application/json",
                self.agent.status().to_string(),
            ),
            (Method::POST, "/megabox/pause" | "/megabox/resume") => {
                if !same_origin(&request, &self.agent.origin()) {
                    return response(
                        StatusCode::FORBIDDEN,
                        "text/plain",
                        "cross-origin request refused",
                    );
                }
                if let Err(error) = self.agent.set_paused(path.ends_with("pause")) {
                    tracing::error!(%error, "could not persist pause state");
                }
                let mut redirect = response(StatusCode::SEE_OTHER, "text/plain", "");
                redirect
                    .headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_static("/"));
                redirect
            }
            (Method::GET, "/megabox/viewability.js") => {
                response(StatusCode::OK, "text/javascript", VIEWABILITY_SCRIPT)
            }
            (Method::GET, "/megabox/frame") => self.creative_frame(&query).await,
            (Method::POST, "/megabox/view") => self.view(request).await,
            _ => response(StatusCode::NOT_FOUND, "text/plain", "not found"),
        }
    }

    fn status_page(&self) -> String {
        let status = self.agent.status();
        let paused = self.agent.is_paused();
        let (action, label) = if paused {
            ("resume", "Resume")
        } else {
            ("pause", "Pause")
        };
        let publishers: Vec<String> = self
            .agent
            .settings
            .allow_list
            .domains()
            .iter()
            .map(|domain| html_escape(domain))
            .collect();
        format!(
            concat!(
                "<!doctype html><html><head><meta charset=utf-8><title>Megabox agent</title></head><body>",
                "<h1>Megabox agent</h1><p>State: <strong>{state}</strong></p>",
                "<form method=post action=/megabox/{action}><button>{label}</button></form>",
                "<ul><li>Ads swapped today: {swaps} of at most {cap}</li>",
                "<li>Viewable impressions today: {impressions}</li>",
                "<li>Impressions confirmed by Megabox (they earn your free streaming and download credits): {accepted}</li>",
                "<li>Impressions waiting to be reported: {waiting}</li>",
                "<li>Earnings and download credits: see your Megabox account.</li></ul>",
                "<p>Only these publishers are ever decrypted: {publishers}. Nothing about the pages you visit leaves this computer.</p>",
                "</body></html>"
            ),
            state = if paused { "paused" } else { "active" },
            action = action,
            label = label,
            swaps = status["swaps_today"],
            cap = status["swaps_per_day_max"],
            impressions = status["impressions_today"],
            accepted = status["impressions_accepted"],
            waiting = status["impressions_waiting"],
            publishers = publishers.join(", "),
        )
    }

    /// A creative for `size`: from the cache, else fetched from the server.
    async fn creative_for(&self, size: SlotSize) -> Option<Creative> {
        if let Some(creative) = self.agent.creatives.lock().ok()?.get(&size).cloned() {
            return Some(creative);
        }
        let server = self.agent.server.as_ref()?;
        let list = server
            .creatives(size)
            .await
            .map_err(|error| tracing::warn!(%error, "fetching creatives failed"))
            .ok()?;
        let creative = list
            .creatives
            .into_iter()
            .find(|creative| creative.size == size)?;
        self.agent
            .creatives
            .lock()
            .ok()?
            .insert(size, creative.clone());
        Some(creative)
    }

    async fn creative_frame(&self, query: &str) -> Response<Body> {
        let Some(nonce) =
            query_parameter(query, "nonce").and_then(|text| text.parse::<Nonce>().ok())
        else {
            return response(StatusCode::BAD_REQUEST, "text/plain", "missing nonce");
        };
        let Some(size) = self
            .agent
            .nonces
            .lock()
            .ok()
            .and_then(|nonces| nonces.size_of(&nonce))
        else {
            return response(StatusCode::NOT_FOUND, "text/plain", "unknown nonce");
        };
        // Only the first serve of a nonce gets the creative, its script and the view token (see
        // `NonceRegistry::serve_frame`); any later one shows the plain placeholder.
        let served = self.creative_for(size).await.and_then(|creative| {
            let token = self
                .agent
                .nonces
                .lock()
                .ok()?
                .serve_frame(&nonce, creative.creative_id.clone(), Instant::now())
                .ok()?;
            Some((creative, token))
        });
        let (creative, token) = served.unzip();
        let image =
            creative
                .as_ref()
                .zip(self.agent.server.as_ref())
                .and_then(|(creative, server)| {
                    creative_image_source(server.base_url(), &creative.image_url)
                });
        let (width, height) = (size.width_pixels(), size.height_pixels());
        let content = match (&creative, &image) {
            (Some(creative), Some(image)) => format!(
                r#"<a href="{link}" target="_blank" rel="noopener noreferrer" title="{headline}"><img src="{source}" width="{width}" height="{height}" alt="{headline}. {body}" referrerpolicy="no-referrer"></a>{VIEWABILITY_TAG}"#,
                link = html_escape(&creative.link_url),
                source = html_escape(&image.url),
                headline = html_escape(&creative.headline),
                body = html_escape(&creative.body),
            ),
            (Some(creative), None) => format!(
                r#"<a class="text" href="{link}" target="_blank" rel="noopener noreferrer"><strong>{headline}</strong><br>{body}</a>{VIEWABILITY_TAG}"#,
                link = html_escape(&creative.link_url),
                headline = html_escape(&creative.headline),
                body = html_escape(&creative.body),
            ),
            (None, _) => r#"<span class="text">Music for everyone at Megabox.</span>"#.to_owned(),
        };
        let page = format!(
            concat!(
                r#"<!doctype html><html data-nonce="{nonce}"{token}><head><meta charset=utf-8><title>Megabox ad</title>"#,
                r#"<style>body{{margin:0;font:14px sans-serif;width:{width}px;height:{height}px;overflow:hidden;position:relative}}"#,
                r#"img{{display:block;border:0}}.text{{display:block;box-sizing:border-box;height:100%;border:1px solid #888;padding:18px 8px 8px}}"#,
                r#".label{{position:absolute;top:0;left:0;background:#222;color:#fff;font-size:11px;padding:1px 4px}}</style></head>"#,
                r#"<body>{content}<span class="label">Megabox ad</span></body></html>"#
            ),
            nonce = nonce,
            token = token
                .map(|token| format!(r#" data-view-token="{token}""#))
                .unwrap_or_default(),
            width = width,
            height = height,
            content = content,
        );
        let mut frame = response(StatusCode::OK, "text/html; charset=utf-8", page);
        // Nothing but our own script, our own beacon, and the one image from the paired server.
        let policy = match &image {
            Some(image) => format!("{FRAME_POLICY}; img-src {}", image.origin),
            None => FRAME_POLICY.to_owned(),
        };
        if let Ok(policy) = HeaderValue::from_str(&policy) {
            frame
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        } else {
            frame.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(FRAME_POLICY),
            );
        }
        frame
    }

    async fn view(&self, request: Request<Body>) -> Response<Body> {
        let claim = match small_body(request.into_body())
            .await
            .ok_or(ViewRefused::Malformed)
            .and_then(|bytes| ViewClaim::parse(&bytes))
        {
            Ok(claim) => claim,
            Err(refused) => {
                return response(StatusCode::BAD_REQUEST, "text/plain", refused.to_string());
            }
        };
        let accepted = match self.agent.nonces.lock() {
            Ok(mut nonces) => nonces.redeem(&claim, Instant::now()),
            Err(_) => return response(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", ""),
        };
        let view = match accepted {
            Ok(view) => view,
            Err(refused) => {
                return response(StatusCode::CONFLICT, "text/plain", refused.to_string());
            }
        };
        let event = ImpressionEvent {
            event_id: EventId::random(),
            creative_id: view.creative_id,
            size: view.size,
            time_bucket: TimeBucket::containing(unix_seconds()),
            nonce: view.nonce,
        };
        let recorded = self
            .agent
            .outbox
            .lock()
            .map_err(|_| ())
            .and_then(|mut outbox| {
                outbox.record_event(event).map_err(|error| {
                    tracing::error!(%error, "could not record an impression");
                })
            });
        if recorded.is_err() {
            return response(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "");
        }
        let day = unix_seconds() / SECONDS_PER_DAY;
        self.agent
            .update_state(|state| state.impressions = state.impressions.record(day));
        self.agent.report_wakeup.notify_one();
        response(StatusCode::NO_CONTENT, "text/plain", "")
    }

    /// Decides whether a response is a page we may rewrite.
    fn rewritable(response: &Response<Body>) -> bool {
        let headers = response.headers();
        let is_html = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                let lower = value.to_ascii_lowercase();
                lower.starts_with("text/html")
                    && (!lower.contains("charset") || lower.contains("utf-8"))
            });
        let identity = headers
            .get(header::CONTENT_ENCODING)
            .is_none_or(|value| value.as_bytes().eq_ignore_ascii_case(b"identity"));
        let policy_allows = headers
            .get_all(header::CONTENT_SECURITY_POLICY)
            .iter()
            .all(|value| {
                value
                    .to_str()
                    .is_ok_and(|policy| !crate::rewrite::policy_blocks_creative(policy))
            });
        response.status() == StatusCode::OK && is_html && identity && policy_allows
    }

    async fn rewrite_response(
        &self,
        page: PendingPage,
        response: Response<Body>,
    ) -> Response<Body> {
        let started = Instant::now();
        let (mut parts, mut body) = response.into_parts();
        let limits = self.agent.limits;
        let mut original = Vec::new();
        // Read the page within the size and time limits; on any failure, the bytes read so far
        // followed by the untouched rest of the stream go out exactly as they came.
        let complete = loop {
            let remaining = limits.duration_max.saturating_sub(started.elapsed());
            match tokio::time::timeout(remaining, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        original.extend_from_slice(&data);
                        if original.len() > limits.html_bytes_max {
                            break false;
                        }
                    }
                }
                Ok(None) => break true,
                Ok(Some(Err(_))) | Err(_) => break false,
            }
        };
        if !complete {
            let prefix = futures_prefix(original);
            return Response::from_parts(
                parts,
                Body::from_stream(prefix.chain(body.into_data_stream())),
            );
        }
        let agent = &self.agent;
        let mut issue = |size: SlotSize| {
            agent
                .nonces
                .lock()
                .map(|mut nonces| nonces.issue(size, Instant::now()))
                .unwrap_or(Nonce([0; 16]))
        };
        let origin = agent.origin();
        let rewrite = PageRewrite {
            page_url: &page.url,
            filters: &agent.filters,
            choice: agent.chooser.page(page.url.clone(), agent.swaps_today()),
            creative_origin: CreativeOrigin { base_url: &origin },
            issue_nonce: &mut issue,
            limits,
            started,
        };
        match crate::rewrite::rewrite_page(&original, rewrite) {
            Ok((rewritten, swapped)) => {
                agent.record_swap();
                tracing::info!(size = %swapped.size, "swapped one ad slot");
                // The new body has a known length: a publisher's `Transfer-Encoding: chunked` next
                // to a Content-Length would make the response unreadable to the browser.
                parts.headers.remove(header::TRANSFER_ENCODING);
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
                Response::from_parts(parts, Body::from(rewritten))
            }
            Err(reason) => {
                if reason != Unchanged::NoSwap {
                    tracing::debug!(%reason, "page passed through unchanged");
                }
                Response::from_parts(parts, Body::from(original))
            }
        }
    }
}

type DataStream = std::pin::Pin<
    Box<dyn hudsucker::futures::Stream<Item = Result<Bytes, hudsucker::Error>> + Send + Sync>,
>;

/// A one-item stream holding the bytes already read.
fn futures_prefix(bytes: Vec<u8>) -> DataStream {
    Box::pin(hudsucker::futures::stream::once(async move {
        Ok(Bytes::from(bytes))
    }))
}

impl HttpHandler for AgentHandler {
    async fn handle_request(
        &mut self,
        _context: &HttpContext,
        mut request: Request<Body>,
    ) -> RequestOrResponse {
        self.page = None;
        if request.method() == Method::CONNECT {
            return self.agent.tunnel_target(request).into();
        }
        if self.is_local(&request) {
            return self.serve_local(request).await.into();
        }
        if request.method() != Method::GET || self.agent.is_paused() {
            return request.into();
        }
        let host = request.uri().host().unwrap_or("").to_owned();
        let wants_document = request
            .headers()
            .get("sec-fetch-dest")
            .map(|dest| dest == "document")
            .unwrap_or_else(|| {
                request.headers().get(header::ACCEPT).is_some_and(|accept| {
                    accept
                        .to_str()
                        .is_ok_and(|accept| accept.contains("text/html"))
                })
            });
        if self.agent.settings.allow_list.contains(&host) && wants_document {
            self.page = Some(PendingPage {
                url: format!(
                    "{}://{}{}",
                    request.uri().scheme_str().unwrap_or("http"),
                    host,
                    request.uri().path()
                ),
            });
            // A compressed page cannot be rewritten; ask for the plain one.
            request.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        request.into()
    }

    async fn handle_response(
        &mut self,
        _context: &HttpContext,
        response: Response<Body>,
    ) -> Response<Body> {
        match self.page.take() {
            Some(page) if Self::rewritable(&response) => {
                self.rewrite_response(page, response).await
            }
            _ => response,
        }
    }

    async fn should_intercept_connect(
        &mut self,
        _context: &HttpContext,
        request: &Request<Body>,
    ) -> bool {
        self.agent.intercepts(request.uri().host().unwrap_or(""))
    }
}

/// Runs the proxy on `listener` until `shutdown` resolves.
pub async fn serve(
    agent: Arc<Agent>,
    listener: tokio::net::TcpListener,
    authority: crate::certificate_authority::AllowListedAuthority,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tcp = crate::certificate_authority::OverridingConnector::new(
        agent.settings.resolve_overrides.clone(),
    );
    let roots =
        crate::certificate_authority::upstream_roots(agent.settings.extra_roots_pem.as_deref())?;
    let connector = crate::certificate_authority::upstream_connector(tcp, roots)?;
    let proxy = hudsucker::Proxy::builder()
        .with_listener(listener)
        .with_ca(authority)
        .with_http_connector(connector)
        .with_http_handler(AgentHandler::new(agent))
        .with_graceful_shutdown(shutdown)
        .build()?;
    proxy.start().await?;
    Ok(())
}

/// How often the reporter looks for impressions to send when idle.
const REPORT_INTERVAL: Duration = Duration::from_secs(30);

/// Sends sealed batches until the outbox is empty, then sleeps; failures back off exponentially.
pub async fn report_forever(
    agent: Arc<Agent>,
    key: ed25519_dalek::SigningKey,
    device_id: megabox_protocol::DeviceId,
) {
    let mut backoff = crate::outbox::Backoff::default();
    loop {
        let batch = agent.outbox.lock().map_err(|_| ()).and_then(|mut outbox| {
            outbox
                .next_batch(device_id, &key)
                .map_err(|error| tracing::error!(%error, "sealing a batch failed"))
        });
        let (Ok(Some(batch)), Some(server)) = (batch, agent.server.as_ref()) else {
            // Idle: a new view wakes the reporter at once; the interval is only a safety net.
            let _ = tokio::time::timeout(REPORT_INTERVAL, agent.report_wakeup.notified()).await;
            continue;
        };
        match server.send_batch(&batch).await {
            Ok(response) => {
                backoff = backoff.succeeded();
                let settled = response.settled_event_ids().count();
                if settled != batch.events.len() {
                    tracing::warn!(
                        sent = batch.events.len(),
                        settled,
                        "the server settled a different number of events"
                    );
                }
                let accepted = u64::try_from(response.accepted.len()).unwrap_or(u64::MAX);
                agent.update_state(|state| {
                    state.impressions_accepted = state.impressions_accepted.saturating_add(accepted)
                });
                if let Ok(mut outbox) = agent.outbox.lock()
                    && let Err(error) = outbox.settle(batch.sequence)
                {
                    tracing::error!(%error, "could not record an acknowledged batch");
                }
            }
            Err(error) => {
                backoff = backoff.failed();
                tracing::warn!(%error, retry_in_ms = backoff.delay().as_millis(), "sending impressions failed");
                tokio::time::sleep(backoff.delay()).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_state_changes_are_all_persisted() {
        const THREADS: u32 = 8;
        const SWAPS_PER_THREAD: u32 = 25;
        let directory = tempfile::tempdir().expect("tempdir");
        let environment =
            HashMap::from([("MEGABOX_AGENT_DIR", directory.path().display().to_string())]);
        let settings =
            Settings::from_lookup(|name| environment.get(name).cloned()).expect("settings");
        let install = InstallDirectory::open(&settings.agent_directory).expect("install");
        let agent = Agent::new(
            settings,
            install.clone(),
            FilterEngine::from_list_text(""),
            None,
        )
        .expect("agent");
        let day = unix_seconds() / SECONDS_PER_DAY;
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    for _ in 0..SWAPS_PER_THREAD {
                        agent
                            .change_state(|state| state.swaps = state.swaps.record(day))
                            .expect("every write lands");
                    }
                });
            }
        });
        assert_eq!(
            install.state().expect("state").swaps.on(day),
            THREADS * SWAPS_PER_THREAD
        );
    }

    #[test]
    fn creative_images_come_only_from_the_paired_server() {
        let image = |url: &str, origin: &str| {
            Some(ImageSource {
                url: url.to_owned(),
                origin: origin.to_owned(),
            })
        };
        let cases = [
            (
                "http://127.0.0.1:8080",
                "/api/v1/ads/creatives/c1/image",
                image(
                    "http://127.0.0.1:8080/api/v1/ads/creatives/c1/image",
                    "http://127.0.0.1:8080",
                ),
            ),
            (
                "https://megabox.example/base",
                "/i/c1.png",
                image(
                    "https://megabox.example/i/c1.png",
                    "https://megabox.example",
                ),
            ),
            ("https://megabox.example", "//evil.example/x.png", None),
            (
                "https://megabox.example",
                "https://evil.example/x.png",
                None,
            ),
            ("https://megabox.example", "x.png", None),
            ("https://megabox.example", "/x.png\"#;script-src", None),
            ("https://megabox.example", "/x\".png", None),
            ("https://megabox.example", "", None),
            ("ftp://megabox.example", "/x.png", None),
            ("https://megabox.example; script-src *", "/x.png", None),
        ];
        for (server, path, expected) in cases {
            assert_eq!(
                creative_image_source(server, path),
                expected,
                "{server} {path}"
            );
        }
    }
}
