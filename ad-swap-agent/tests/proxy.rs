//! The real proxy on loopback: a publisher page over plain HTTP and over intercepted HTTPS, blind
//! tunnels for everything else, byte-identical passthrough, the status page and the view flow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hudsucker::rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use hudsucker::rustls::pki_types::pem::PemObject as _;
use hudsucker::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use hudsucker::rustls::{ClientConfig, RootCertStore, ServerConfig};
use megabox_agent::certificate_authority::AllowListedAuthority;
use megabox_agent::filters::FilterEngine;
use megabox_agent::install::{CA_CERTIFICATE_FILE, InstallDirectory};
use megabox_agent::proxy::Agent;
use megabox_agent::server::ServerClient;
use megabox_agent::settings::Settings;
use megabox_protocol::{
    BatchResponse, Creative, CreativeId, DeviceId, EventId, ImpressionBatch, ImpressionEvent,
    Nonce, PublicKey, SlotSize, TimeBucket,
};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const PUBLISHER: &str = "news.test";
/// A host outside the allow-list whose name the agent resolves through `MEGABOX_AGENT_RESOLVE`.
const OTHER_HOST: &str = "blog.test";
const ARTICLE: &str = r#"<html><body><h1>News</h1><div id="div-gpt-ad-1" style="width:300px;height:250px"><iframe src="https://ads.example/x"></iframe></div><p>text</p></body></html>"#;
const NO_SLOTS: &str = "<html><body><h1>Plain</h1><p>no ads here</p></body></html>";
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than `RewriteLimits::default().duration_max`.
const SLOW_PUBLISHER_STALL: Duration = Duration::from_millis(2_500);

/// Larger than the agent's 4 MiB rewrite limit, with an eligible slot at the very end.
fn huge_page() -> String {
    format!("<html><body>{}{ARTICLE}", "<p>filler</p>".repeat(400_000))
}

/// The publisher's canned responses: (content type, extra header, body) by path.
fn publisher_response(path: &str) -> String {
    let huge = huge_page();
    let (content_type, extra, body) = match path {
        "/article" | "/slow" => ("text/html; charset=utf-8", "", ARTICLE),
        "/huge" => ("text/html", "", huge.as_str()),
        "/plain" => ("text/html", "", NO_SLOTS),
        "/data.json" => ("application/json", "", ARTICLE),
        "/csp" => (
            "text/html",
            "Content-Security-Policy: default-src 'self'\r\n",
            ARTICLE,
        ),
        "/latin1" => ("text/html; charset=iso-8859-1", "", ARTICLE),
        _ => ("text/plain", "", "not found"),
    };
    if path == "/chunked" {
        // One chunk, as servers that stream their pages send them (no Content-Length).
        return format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{ARTICLE}\r\n0\r\n\r\n",
            ARTICLE.len()
        );
    }
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

async fn serve_publisher_connection<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let response = publisher_response(&path);
    if path == "/slow" {
        // Half the page, then a stall longer than the agent's rewrite time limit.
        let (first, second) = response.split_at(response.len() / 2);
        let _ = stream.write_all(first.as_bytes()).await;
        let _ = stream.flush().await;
        tokio::time::sleep(SLOW_PUBLISHER_STALL).await;
        let _ = stream.write_all(second.as_bytes()).await;
    } else {
        let _ = stream.write_all(response.as_bytes()).await;
    }
    let _ = stream.shutdown().await;
}

/// A plain-HTTP publisher on loopback.
async fn start_http_publisher() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_publisher_connection(stream));
        }
    });
    address
}

/// A test root and an HTTPS publisher for `news.test` whose certificate it signed.
struct TlsPublisher {
    address: SocketAddr,
    root_pem: String,
}

async fn start_https_publisher() -> TlsPublisher {
    let root_key = KeyPair::generate().expect("key");
    let mut root_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = root_params.self_signed(&root_key).expect("root");
    let issuer = Issuer::new(root_params, root_key);
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec![PUBLISHER.to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let provider = Arc::new(hudsucker::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::from_pem_slice(leaf_key.serialize_pem().as_bytes()).expect("key"),
        )
        .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_publisher_connection(tls).await;
                }
            });
        }
    });
    TlsPublisher {
        address,
        root_pem: root.pem(),
    }
}

struct TestAgent {
    address: SocketAddr,
    agent: Arc<Agent>,
    authority: AllowListedAuthority,
    ca_pem: String,
    _directory: tempfile::TempDir,
}

async fn start_agent(publisher: SocketAddr, extra_root_pem: Option<&str>) -> TestAgent {
    start_agent_with_server(publisher, extra_root_pem, None).await
}

async fn start_agent_with_server(
    publisher: SocketAddr,
    extra_root_pem: Option<&str>,
    server: Option<ServerClient>,
) -> TestAgent {
    let directory = tempfile::tempdir().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let roots_path = directory.path().join("extra-roots.pem");
    let mut environment = HashMap::from([
        (
            "MEGABOX_AGENT_DIR",
            directory.path().join("agent").display().to_string(),
        ),
        ("MEGABOX_AGENT_BIND", address.to_string()),
        ("MEGABOX_AGENT_INTERCEPT", PUBLISHER.to_owned()),
        (
            "MEGABOX_AGENT_RESOLVE",
            format!("{PUBLISHER}={publisher},{OTHER_HOST}={publisher}"),
        ),
        ("MEGABOX_AGENT_SWAP_PERCENT", "100".to_owned()),
    ]);
    if let Some(pem) = extra_root_pem {
        std::fs::write(&roots_path, pem).expect("write roots");
        environment.insert(
            "MEGABOX_AGENT_EXTRA_ROOTS",
            roots_path.display().to_string(),
        );
    }
    let settings = Settings::from_lookup(|name| environment.get(name).cloned()).expect("settings");
    let install = InstallDirectory::open(&settings.agent_directory).expect("install dir");
    let ca_pem = install
        .create_certificate_authority(&settings.allow_list)
        .expect("ca");
    let (certificate_pem, key_pem) = install
        .certificate_authority()
        .expect("read")
        .expect("ca exists");
    let authority =
        AllowListedAuthority::load(&certificate_pem, &key_pem, settings.allow_list.clone())
            .expect("authority");
    let filters = FilterEngine::from_list_text("||ads.example^\n##.ad-banner\n");
    let agent = Arc::new(Agent::new(settings, install, filters, server).expect("agent"));
    let shutdown = std::future::pending::<()>();
    tokio::spawn(megabox_agent::proxy::serve(
        Arc::clone(&agent),
        listener,
        authority.clone(),
        shutdown,
    ));
    assert!(ca_pem.contains("BEGIN CERTIFICATE"));
    TestAgent {
        address,
        agent,
        authority,
        ca_pem,
        _directory: directory,
    }
}

/// Sends a raw request and returns (head, body) of the response.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> (String, Vec<u8>) {
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut response))
        .await
        .expect("timely")
        .expect("read");
    let split = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("complete head");
    (
        String::from_utf8_lossy(&response[..split]).into_owned(),
        response[split + 4..].to_vec(),
    )
}

fn page_request(target: &str, host: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nSec-Fetch-Dest: document\r\nConnection: close\r\n\r\n"
    )
}

async fn through_proxy(agent: &TestAgent, path: &str) -> (String, Vec<u8>) {
    let stream = TcpStream::connect(agent.address).await.expect("connect");
    exchange(
        stream,
        &page_request(&format!("http://{PUBLISHER}{path}"), PUBLISHER),
    )
    .await
}

fn body_of(path: &str) -> Vec<u8> {
    let response = publisher_response(path);
    let split = response.find("\r\n\r\n").expect("head");
    response.as_bytes()[split + 4..].to_vec()
}

#[tokio::test]
async fn plain_http_page_gets_one_labelled_sandboxed_creative() {
    let agent = start_agent(start_http_publisher().await, None).await;
    let (head, body) = through_proxy(&agent, "/article").await;
    let body = String::from_utf8(body).expect("utf-8");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.contains(r#"title="Megabox ad""#) && body.contains("sandbox=\"allow-scripts"),
        "{body}"
    );
    assert!(body.contains(&format!("http://{}/megabox/frame?nonce=", agent.address)));
    assert!(
        !body.contains("ads.example"),
        "the original ad frame is gone, so it is never requested"
    );
    assert_eq!(agent.agent.status()["swaps_today"], 1);
}

#[tokio::test]
async fn a_chunked_page_is_rewritten_into_a_well_formed_response() {
    let agent = start_agent(start_http_publisher().await, None).await;
    let (head, body) = through_proxy(&agent, "/chunked").await;
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        !head.contains("transfer-encoding"),
        "a rewritten page has one length, not two: {head}"
    );
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    assert!(String::from_utf8_lossy(&body).contains(r#"title="Megabox ad""#));
}

#[tokio::test]
async fn pages_that_must_not_change_pass_byte_identical() {
    let agent = start_agent(start_http_publisher().await, None).await;
    for path in ["/plain", "/data.json", "/csp", "/latin1", "/huge", "/slow"] {
        let (_, body) = through_proxy(&agent, path).await;
        assert_eq!(body, body_of(path), "{path}");
    }
    agent.agent.set_paused(true).expect("pause");
    let (_, body) = through_proxy(&agent, "/article").await;
    assert_eq!(body, body_of("/article"), "paused");
}

#[tokio::test]
async fn https_publisher_is_intercepted_with_a_constrained_certificate() {
    let publisher = start_https_publisher().await;
    let agent = start_agent(publisher.address, Some(&publisher.root_pem)).await;
    let stream = connect_tunnel(agent.address, &format!("{PUBLISHER}:443")).await;

    // The browser side trusts only the agent's own CA; webpki enforces its name constraints.
    let tls = client_trusting(&agent.ca_pem)
        .connect(ServerName::try_from(PUBLISHER).expect("name"), stream)
        .await
        .expect("handshake");
    let (response_head, body) = exchange(tls, &page_request("/article", PUBLISHER)).await;
    assert!(response_head.starts_with("HTTP/1.1 200"), "{response_head}");
    assert!(String::from_utf8_lossy(&body).contains("Megabox ad"));
    assert_eq!(agent.authority.minted_hosts(), vec![PUBLISHER.to_owned()]);
}

/// Sends `CONNECT target` to the proxy and returns the stream once it answered 200.
async fn connect_tunnel(proxy: SocketAddr, target: &str) -> TcpStream {
    let mut stream = TcpStream::connect(proxy).await.expect("connect");
    stream
        .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("head");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

fn client_trusting(pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem"))
        .expect("root");
    let provider = Arc::new(hudsucker::rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn other_hosts_get_a_blind_tunnel_and_no_certificate() {
    let publisher = start_https_publisher().await;
    let agent = start_agent(publisher.address, Some(&publisher.root_pem)).await;
    // `localhost` is not on the allow-list: the agent must tunnel the bytes, so the handshake
    // below reaches the real server and succeeds only with the real server's root.
    let stream = connect_tunnel(
        agent.address,
        &format!("localhost:{}", publisher.address.port()),
    )
    .await;
    let tls = client_trusting(&publisher.root_pem)
        .connect(ServerName::try_from(PUBLISHER).expect("name"), stream)
        .await
        .expect("real server");
    let (_, body) = exchange(tls, &page_request("/article", PUBLISHER)).await;
    assert_eq!(body, body_of("/article"), "tunnelled bytes are untouched");
    assert!(agent.authority.minted_hosts().is_empty());
}

#[tokio::test]
async fn blind_tunnels_follow_the_resolve_overrides_too() {
    let publisher = start_https_publisher().await;
    let agent = start_agent(publisher.address, Some(&publisher.root_pem)).await;
    // hudsucker dials blind tunnels itself; `blog.test` only exists through the override, so the
    // handshake below reaches the publisher only if the agent applied it.
    let stream = connect_tunnel(agent.address, &format!("{OTHER_HOST}:443")).await;
    let tls = client_trusting(&publisher.root_pem)
        .connect(ServerName::try_from(PUBLISHER).expect("name"), stream)
        .await
        .expect("real server");
    let (_, body) = exchange(tls, &page_request("/article", PUBLISHER)).await;
    assert_eq!(body, body_of("/article"), "tunnelled bytes are untouched");

    // Paused, even the allow-listed publisher is a blind tunnel, dialled through the override.
    agent.agent.set_paused(true).expect("pause");
    let stream = connect_tunnel(agent.address, &format!("{PUBLISHER}:443")).await;
    let tls = client_trusting(&publisher.root_pem)
        .connect(ServerName::try_from(PUBLISHER).expect("name"), stream)
        .await
        .expect("real server");
    let (_, body) = exchange(tls, &page_request("/article", PUBLISHER)).await;
    assert_eq!(body, body_of("/article"), "paused: untouched");
    assert!(agent.authority.minted_hosts().is_empty());
}

/// Sends one request straight to the agent (as the browser reaches its loopback origin).
async fn local(agent: &TestAgent, request: &str) -> (String, Vec<u8>) {
    exchange(
        TcpStream::connect(agent.address).await.expect("connect"),
        request,
    )
    .await
}

#[tokio::test]
async fn status_page_and_buttons_refuse_cross_origin_posts() {
    let agent = start_agent(start_http_publisher().await, None).await;
    let (head, body) = local(
        &agent,
        &format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            agent.address
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(String::from_utf8_lossy(&body).contains("Ads swapped today"));

    let post = |origin: &str| {
        format!(
            "POST /megabox/pause HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            agent.address
        )
    };
    let (head, _) = local(&agent, &post("https://evil.example")).await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert_eq!(agent.agent.status()["paused"], false);
    let (head, _) = local(&agent, &post(&format!("http://{}", agent.address))).await;
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    assert_eq!(agent.agent.status()["paused"], true);
}

#[tokio::test]
async fn requests_under_another_name_are_refused() {
    let agent = start_agent(start_http_publisher().await, None).await;
    let port = agent.address.port();
    // DNS rebinding: a website's name pointed at 127.0.0.1 would make its pages same-origin with
    // the agent's answers. Only the agent's own names are served.
    for (host, expected) in [
        (format!("rebound.example:{port}"), "HTTP/1.1 421"),
        (format!("127.0.0.1.example:{port}"), "HTTP/1.1 421"),
        (
            format!("localhost:{}", port.wrapping_add(1)),
            "HTTP/1.1 421",
        ),
        (agent.address.to_string(), "HTTP/1.1 200"),
        (format!("localhost:{port}"), "HTTP/1.1 200"),
    ] {
        let (head, _) = local(
            &agent,
            &format!(
                "GET /megabox/status.json HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(head.starts_with(expected), "{host}: {head}");
    }
}

/// An agent with a cached creative, and the nonce of the slot it swapped on an article.
async fn agent_with_swapped_slot() -> (TestAgent, String) {
    // The server is never called (the creative is cached below); it only names the image's origin.
    let server = ServerClient::new("http://megabox.test:8080", &HashMap::new()).expect("client");
    let agent = start_agent_with_server(start_http_publisher().await, None, Some(server)).await;
    let size = SlotSize::new(300, 250).expect("size");
    let creative = Creative {
        creative_id: CreativeId::parse("spring").expect("id"),
        size,
        headline: "New <album>".to_owned(),
        body: "Listen free".to_owned(),
        link_url: "https://megabox.test/r/1".to_owned(),
        image_url: "/api/v1/ads/creatives/spring/image".to_owned(),
    };
    agent
        .agent
        .creatives
        .lock()
        .expect("lock")
        .insert(size, creative);
    let (_, page) = through_proxy(&agent, "/article").await;
    let page = String::from_utf8(page).expect("utf-8");
    // What any script on the page can read from the frame's `src`.
    let nonce = page
        .split("nonce=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("nonce")
        .to_owned();
    (agent, nonce)
}

/// Loads the creative frame for `nonce` as the browser does: (head, document).
async fn load_frame(agent: &TestAgent, nonce: &str) -> (String, String) {
    let (head, frame) = local(agent, &format!("GET /megabox/frame?nonce={nonce}&size=300x250 HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", agent.address)).await;
    (head, String::from_utf8(frame).expect("utf-8"))
}

/// The view token written into a frame's document, if any.
fn view_token(frame: &str) -> Option<String> {
    frame
        .split(r#"data-view-token=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

fn view_post(agent: &TestAgent, body: &str) -> String {
    format!(
        "POST /megabox/view HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        agent.address,
        body.len()
    )
}

#[tokio::test]
async fn a_view_is_recorded_once_after_a_second() {
    let (agent, nonce) = agent_with_swapped_slot().await;
    let (head, frame) = load_frame(&agent, &nonce).await;
    let policy = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-security-policy:")
                .map(str::to_owned)
        })
        .expect("policy");
    assert!(
        policy.contains("default-src 'none'")
            && policy
                .trim_end()
                .ends_with("img-src http://megabox.test:8080"),
        "{policy}"
    );
    assert!(
        frame.contains("Megabox ad")
            && frame.contains("New &lt;album&gt;")
            && frame.contains("/megabox/viewability.js")
    );
    assert!(frame.contains(r#"<img src="http://megabox.test:8080/api/v1/ads/creatives/spring/image" width="300" height="250""#), "{frame}");
    let token = view_token(&frame).expect("the frame carries its view token");

    let view = |nonce: &str| {
        view_post(
            &agent,
            &format!(r#"{{"nonce":"{nonce}","token":"{token}"}}"#),
        )
    };
    let (head, _) = local(&agent, &view(&nonce)).await;
    assert!(head.starts_with("HTTP/1.1 409"), "too early: {head}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (head, _) = local(&agent, &view(&nonce)).await;
    assert!(head.starts_with("HTTP/1.1 204"), "{head}");
    let (head, _) = local(&agent, &view(&nonce)).await;
    assert!(head.starts_with("HTTP/1.1 409"), "reused: {head}");
    let (head, _) = local(&agent, &view("AAAAAAAAAAAAAAAAAAAAAA")).await;
    assert!(head.starts_with("HTTP/1.1 409"), "unknown: {head}");
    assert_eq!(agent.agent.status()["impressions_waiting"], 1);
    assert!(
        agent
            ._directory
            .path()
            .join("agent")
            .join(CA_CERTIFICATE_FILE)
            .exists()
    );
}

#[tokio::test]
async fn a_page_script_cannot_claim_the_view_with_the_nonce_from_the_frame_src() {
    let (agent, nonce) = agent_with_swapped_slot().await;
    // The page cannot load the frame under its own name to read the token.
    let (head, frame) = local(&agent, &format!("GET /megabox/frame?nonce={nonce}&size=300x250 HTTP/1.1\r\nHost: news.test:{}\r\nConnection: close\r\n\r\n", agent.address.port())).await;
    assert!(
        head.starts_with("HTTP/1.1 421") && view_token(&String::from_utf8_lossy(&frame)).is_none(),
        "{head}"
    );
    let (_, frame) = load_frame(&agent, &nonce).await;
    let token = view_token(&frame).expect("the first load of the frame gets the token");
    let (_, reloaded) = load_frame(&agent, &nonce).await;
    assert_eq!(
        view_token(&reloaded),
        None,
        "a second load of the frame gets no token: {reloaded}"
    );
    assert!(
        !reloaded.contains("viewability.js"),
        "nor the script: {reloaded}"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    // What a page script can send: the nonce it read from the frame's src, with no token or a made-up one.
    let forged_token = "A".repeat(token.len());
    for (what, body, status) in [
        (
            "nonce only",
            format!(r#"{{"nonce":"{nonce}"}}"#),
            "HTTP/1.1 400",
        ),
        (
            "empty token",
            format!(r#"{{"nonce":"{nonce}","token":""}}"#),
            "HTTP/1.1 400",
        ),
        (
            "made-up token",
            format!(r#"{{"nonce":"{nonce}","token":"{forged_token}"}}"#),
            "HTTP/1.1 409",
        ),
    ] {
        let (head, _) = local(&agent, &view_post(&agent, &body)).await;
        assert!(head.starts_with(status), "{what}: {head}");
        assert_eq!(
            agent.agent.status()["impressions_waiting"],
            0,
            "{what}: the outbox stays empty"
        );
        assert_eq!(agent.agent.status()["impressions_today"], 0, "{what}");
    }

    // The refused claims did not use the nonce up: the frame's own claim still counts.
    let (head, _) = local(
        &agent,
        &view_post(
            &agent,
            &format!(r#"{{"nonce":"{nonce}","token":"{token}"}}"#),
        ),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 204"), "{head}");
    assert_eq!(agent.agent.status()["impressions_waiting"], 1);
}

#[tokio::test]
async fn an_upstream_certificate_from_an_unknown_root_is_refused() {
    let publisher = start_https_publisher().await;
    // No extra root: the publisher's certificate does not chain to a real root, so the agent
    // must fail the request rather than fetch the page unverified.
    let agent = start_agent(publisher.address, None).await;
    let stream = connect_tunnel(agent.address, &format!("{PUBLISHER}:443")).await;
    let tls = client_trusting(&agent.ca_pem)
        .connect(ServerName::try_from(PUBLISHER).expect("name"), stream)
        .await
        .expect("handshake");
    let (response_head, body) = exchange(tls, &page_request("/article", PUBLISHER)).await;
    assert!(response_head.starts_with("HTTP/1.1 502"), "{response_head}");
    assert!(!String::from_utf8_lossy(&body).contains("News"));
}

/// A fake impression intake: answers 503 to the first batch, then accepts everything.
async fn start_flaky_intake() -> (SocketAddr, Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let bodies: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
    let received = Arc::clone(&bodies);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            let body = loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break None,
                    Ok(read) => request.extend_from_slice(&buffer[..read]),
                }
                let Some(split) = request.windows(4).position(|window| window == b"\r\n\r\n")
                else {
                    continue;
                };
                let head = String::from_utf8_lossy(&request[..split]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse().ok())
                    .unwrap_or(0);
                if request.len() >= split + 4 + length {
                    break Some(request[split + 4..split + 4 + length].to_vec());
                }
            };
            let Some(body) = body else { continue };
            let attempt = {
                let mut bodies = received.lock().expect("lock");
                bodies.push(body.clone());
                bodies.len()
            };
            let response = if attempt == 1 {
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            } else {
                let batch: ImpressionBatch = serde_json::from_slice(&body).expect("batch json");
                let answer = BatchResponse {
                    accepted: batch.events.iter().map(|event| event.event_id).collect(),
                    rejected: vec![],
                };
                let json = serde_json::to_string(&answer).expect("json");
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                    json.len()
                )
            };
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (address, bodies)
}

#[tokio::test]
async fn batches_are_resent_byte_identical_until_acknowledged() {
    let (intake, bodies) = start_flaky_intake().await;
    let server = ServerClient::new(&format!("http://{intake}"), &HashMap::new()).expect("client");
    let agent = start_agent_with_server(start_http_publisher().await, None, Some(server)).await;
    let event = ImpressionEvent {
        event_id: EventId::random(),
        creative_id: CreativeId::parse("spring").expect("id"),
        size: SlotSize::new(300, 250).expect("size"),
        time_bucket: TimeBucket(1),
        nonce: Nonce([2; 16]),
    };
    agent
        .agent
        .outbox
        .lock()
        .expect("lock")
        .record_event(event)
        .expect("record");
    let key = agent.agent.directory.device_key().expect("key");
    let device_id = DeviceId(uuid::Uuid::from_bytes([9; 16]));
    let reporter = tokio::spawn(megabox_agent::proxy::report_forever(
        Arc::clone(&agent.agent),
        key.clone(),
        device_id,
    ));
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    while agent.agent.outbox.lock().expect("lock").pending_events() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the batch was never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    reporter.abort();
    let bodies = bodies.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 2, "one failure, one success");
    assert_eq!(bodies[0], bodies[1], "the resend is byte-identical");
    let batch: ImpressionBatch = serde_json::from_slice(&bodies[1]).expect("json");
    assert_eq!(batch.sequence, 1);
    assert_eq!(batch.verify(&PublicKey::of(&key)), Ok(()));
    assert_eq!(agent.agent.status()["impressions_accepted"], 1);
}
