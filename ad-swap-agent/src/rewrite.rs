//! HTML rewriting: finds eligible ad slots in a publisher's page and swaps at most one for a
//! sandboxed, labelled Megabox creative frame.
//!
//! The rewriter either produces a complete rewritten document or reports why it did not; the
//! caller then sends the ORIGINAL bytes, unchanged. That is why the input is held whole (bounded
//! by [`RewriteLimits::html_bytes_max`]): once rewritten bytes have left, a late error could no
//! longer be undone. lol_html itself parses in a streaming fashion with bounded memory.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use lol_html::html_content::{ContentType, Element};
use lol_html::{HtmlRewriter, MemorySettings, Settings};
use megabox_protocol::{Nonce, SlotSize};

use crate::filters::{FilterEngine, PageCosmetics, RequestKind};
use crate::slots::PageChoice;

/// Sizes Megabox sells (the IAB standard units); a slot of any other size is not eligible.
pub const SELLABLE_SLOT_SIZES: &[(u16, u16)] = &[
    (300, 250),
    (336, 280),
    (728, 90),
    (970, 90),
    (970, 250),
    (160, 600),
    (300, 600),
    (320, 50),
    (468, 60),
    (320, 100),
];

/// Bounds on one page's rewrite.
#[derive(Clone, Copy, Debug)]
pub struct RewriteLimits {
    pub html_bytes_max: usize,
    pub parser_memory_bytes_max: usize,
    pub duration_max: Duration,
}

impl Default for RewriteLimits {
    fn default() -> Self {
        Self {
            html_bytes_max: 4 * 1024 * 1024,
            parser_memory_bytes_max: 1024 * 1024,
            duration_max: Duration::from_secs(2),
        }
    }
}

/// Why a page was passed through unchanged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unchanged {
    #[error("no eligible slot was chosen")]
    NoSwap,
    #[error("the page's Content-Security-Policy would block the creative")]
    ContentSecurityPolicy,
    #[error("the page is larger than the rewrite limit")]
    TooLarge,
    #[error("the rewrite took longer than its time limit")]
    TimedOut,
    #[error("the HTML rewriter failed: {0}")]
    Rewriter(String),
}

/// The slot that was swapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwappedSlot {
    pub size: SlotSize,
    pub nonce: Nonce,
}

/// Where the creative frame comes from.
pub struct CreativeOrigin<'a> {
    /// e.g. `http://127.0.0.1:8899`.
    pub base_url: &'a str,
}

/// True when a `Content-Security-Policy` value would stop our frame or its focus script:
/// anything restricting frames or scripts, or upgrading our `http://127.0.0.1` frame to https.
pub fn policy_blocks_creative(policy: &str) -> bool {
    const BLOCKING_DIRECTIVES: &[&str] = &[
        "default-src",
        "frame-src",
        "child-src",
        "script-src",
        "script-src-elem",
        "upgrade-insecure-requests",
        "sandbox",
    ];
    policy.split([';', ',']).any(|directive| {
        let name = directive
            .split_ascii_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        BLOCKING_DIRECTIVES.contains(&name.as_str())
    })
}

/// The elements the rewriter looks at: those that can carry a slot's size, and the `meta`
/// elements that can carry a Content-Security-Policy.
const SLOT_CANDIDATES: &str =
    "div[style], div[width], ins, iframe, aside[style], aside[width], meta[http-equiv]";

/// Parses a pixel length: `300`, `300px`; nothing else.
fn parse_pixels(text: &str) -> Option<u16> {
    let digits = text.trim().trim_end_matches("px").trim();
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The element's size from `width`/`height` attributes or an inline style.
fn element_size(element: &Element) -> Option<(u16, u16)> {
    let from_attributes = element
        .get_attribute("width")
        .and_then(|width| parse_pixels(&width))
        .zip(
            element
                .get_attribute("height")
                .and_then(|height| parse_pixels(&height)),
        );
    from_attributes.or_else(|| {
        let style = element.get_attribute("style")?;
        let property = |name: &str| {
            style.split(';').find_map(|declaration| {
                let (key, value) = declaration.split_once(':')?;
                (key.trim().eq_ignore_ascii_case(name))
                    .then(|| parse_pixels(value))
                    .flatten()
            })
        };
        property("width").zip(property("height"))
    })
}

struct PageState<'a> {
    page_url: &'a str,
    filters: &'a FilterEngine,
    cosmetics: PageCosmetics,
    choice: PageChoice<'a>,
    issue_nonce: &'a mut dyn FnMut(SlotSize) -> Nonce,
    creative_origin: &'a str,
    eligible_seen: usize,
    swapped: Option<SwappedSlot>,
    blocked_by_policy: bool,
    deadline: Instant,
}

/// Markup of the replacement: a labelled, sandboxed frame from the agent's own origin, and a
/// tiny script that tells the frame whether the page has focus (a cross-origin frame cannot see
/// that itself). No `allow-same-origin`: the creative can never touch the publisher's page.
fn replacement_markup(origin: &str, size: SlotSize, nonce: Nonce) -> String {
    let (width, height) = (size.width_pixels(), size.height_pixels());
    format!(
        concat!(
            r#"<iframe src="{origin}/megabox/frame?nonce={nonce}&amp;size={size}" width="{width}" height="{height}" "#,
            r#"title="Megabox ad" sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox" "#,
            r#"referrerpolicy="no-referrer" data-megabox-ad="" style="border:0;display:block;width:{width}px;height:{height}px"></iframe>"#,
            r#"<script>(function(f){{function s(){{if(f.contentWindow)f.contentWindow.postMessage({{megaboxFocus:document.hasFocus()}},"*")}}"#,
            r#"addEventListener("focus",s);addEventListener("blur",s);document.addEventListener("visibilitychange",s);setInterval(s,500);s()}})"#,
            r#"(document.currentScript.previousElementSibling)</script>"#
        ),
        origin = origin,
        nonce = nonce,
        size = size,
        width = width,
        height = height,
    )
}

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Stops the rewrite when a `<meta http-equiv="Content-Security-Policy">` would block the frame.
fn check_meta_policy(state: &RefCell<PageState<'_>>, meta: &Element) -> HandlerResult {
    let is_policy = meta
        .get_attribute("http-equiv")
        .is_some_and(|name| name.eq_ignore_ascii_case("content-security-policy"));
    if is_policy
        && meta
            .get_attribute("content")
            .is_some_and(|policy| policy_blocks_creative(&policy))
    {
        state.borrow_mut().blocked_by_policy = true;
        return Err(Box::new(Unchanged::ContentSecurityPolicy));
    }
    Ok(())
}

/// Looks at one element; swaps it if it is an eligible slot and the page's choice says yes.
fn consider_element(state: &RefCell<PageState<'_>>, element: &mut Element) -> HandlerResult {
    let mut state = state.borrow_mut();
    if Instant::now() > state.deadline {
        return Err(Box::new(Unchanged::TimedOut));
    }
    if state.swapped.is_some() || element.removed() {
        return Ok(());
    }
    // The size test is cheap and rules out almost every element, so it runs before any filter
    // lookup: only a slot of a size Megabox sells can be swapped anyway.
    let Some((width, height)) =
        element_size(element).filter(|size| SELLABLE_SLOT_SIZES.contains(size))
    else {
        return Ok(());
    };
    let Ok(size) = SlotSize::new(width, height) else {
        return Ok(());
    };
    let tag = element.tag_name();
    let id = element.get_attribute("id");
    let class = element.get_attribute("class");
    let classes: Vec<&str> = class
        .as_deref()
        .map(|class| class.split_ascii_whitespace().collect())
        .unwrap_or_default();
    let known_markup = match tag.as_str() {
        "div" => id.as_deref().is_some_and(|id| id.starts_with("div-gpt-ad")),
        "ins" => classes.contains(&"adsbygoogle"),
        "iframe" => element.get_attribute("src").is_some_and(|source| {
            state
                .filters
                .is_ad_request(&source, state.page_url, RequestKind::Subdocument)
        }),
        _ => false,
    };
    let eligible = known_markup
        || state
            .filters
            .is_ad_element(&state.cosmetics, &classes, id.as_deref());
    if !eligible {
        return Ok(());
    }
    state.eligible_seen += 1;
    let slot_key = id.unwrap_or_else(|| format!("{tag}#{}", state.eligible_seen));
    if !state.choice.offer(&slot_key) {
        return Ok(());
    }
    let nonce = (state.issue_nonce)(size);
    // Replacing the element drops its children too, so the original ad frame is never requested.
    element.replace(
        &replacement_markup(state.creative_origin, size, nonce),
        ContentType::Html,
    );
    state.swapped = Some(SwappedSlot { size, nonce });
    Ok(())
}

/// Everything one page's rewrite needs.
pub struct PageRewrite<'a> {
    pub page_url: &'a str,
    pub filters: &'a FilterEngine,
    pub choice: PageChoice<'a>,
    pub creative_origin: CreativeOrigin<'a>,
    pub issue_nonce: &'a mut dyn FnMut(SlotSize) -> Nonce,
    pub limits: RewriteLimits,
    pub started: Instant,
}

/// Rewrites `html` (UTF-8 or ASCII-compatible). `Ok` carries the complete new document and the
/// swapped slot; `Err` says why the caller must send the original bytes instead.
pub fn rewrite_page(
    html: &[u8],
    page: PageRewrite<'_>,
) -> Result<(Vec<u8>, SwappedSlot), Unchanged> {
    if html.len() > page.limits.html_bytes_max {
        return Err(Unchanged::TooLarge);
    }
    let cosmetics = page.filters.page_cosmetics(page.page_url);
    let state = Rc::new(RefCell::new(PageState {
        page_url: page.page_url,
        filters: page.filters,
        cosmetics,
        choice: page.choice,
        issue_nonce: page.issue_nonce,
        creative_origin: page.creative_origin.base_url,
        eligible_seen: 0,
        swapped: None,
        blocked_by_policy: false,
        deadline: page.started + page.limits.duration_max,
    }));

    // One handler, and only on elements that can be a slot: a slot needs a size, from
    // `width`/`height` or an inline style ([`element_size`]). Most `div`s have neither, and not
    // calling the handler for them is cheaper than lol_html's matching of the attributes
    // (measured by `examples/bench.rs`); `ins` and `iframe` are rare enough to take whole.
    let handler_state = Rc::clone(&state);
    let handler = lol_html::element!(SLOT_CANDIDATES, move |element| {
        if element.has_attribute("http-equiv") {
            return check_meta_policy(&handler_state, element);
        }
        consider_element(&handler_state, element)
    });
    let mut output = Vec::with_capacity(html.len() + 1024);
    let memory =
        MemorySettings::new().with_max_allowed_memory_usage(page.limits.parser_memory_bytes_max);
    let settings = Settings::new()
        .with_memory_settings(memory)
        .append_element_content_handler(handler);
    let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| output.extend_from_slice(chunk));
    const CHUNK_BYTES: usize = 16 * 1024;
    let result = html
        .chunks(CHUNK_BYTES)
        .try_for_each(|chunk| rewriter.write(chunk))
        .and_then(|()| rewriter.end());
    let state = state.borrow();
    if state.blocked_by_policy {
        return Err(Unchanged::ContentSecurityPolicy);
    }
    if let Err(error) = result {
        let message = error.to_string();
        return Err(if message.contains(&Unchanged::TimedOut.to_string()) {
            Unchanged::TimedOut
        } else {
            Unchanged::Rewriter(message)
        });
    }
    match &state.swapped {
        Some(swapped) => Ok((output, swapped.clone())),
        None => Err(Unchanged::NoSwap),
    }
}

#[cfg(test)]
mod tests;
