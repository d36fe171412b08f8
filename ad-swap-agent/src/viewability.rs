//! Viewability: the nonces the agent issues per swapped slot, the rules a view report must meet,
//! and the script the creative frame runs to measure "≥ 50% visible for 1 continuous second in
//! a focused, visible tab".
//!
//! The script only *claims* a view; the agent accepts a claim once per nonce it issued, no
//! sooner than [`VIEW_DURATION_MIN`] after the frame was served (a view cannot be faster than
//! the second it has to last) and no later than [`NONCE_LIFETIME`].
//!
//! The nonce is not a secret: it sits in the `src` of the frame in the publisher's page, where
//! any script on that page can read it. What authorises a claim is the [`ViewToken`] the agent
//! mints when it serves the frame and writes only into the frame's own document, which the page
//! cannot read (the frame is cross-origin to it).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use megabox_protocol::{CreativeId, Nonce, SlotSize};
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

/// How long the creative must stay ≥ 50% visible.
pub const VIEW_DURATION_MIN: Duration = Duration::from_secs(1);

/// A nonce not redeemed within this time is forgotten.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Most outstanding nonces; beyond this the oldest are dropped (bounded memory).
pub const OUTSTANDING_NONCES_MAX: usize = 4096;

/// Random bytes in a view token: 256 bits, beyond guessing.
pub const VIEW_TOKEN_BYTES: usize = 32;

/// Why a view report was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ViewRefused {
    #[error("a view report is the JSON object {{nonce, token}}")]
    Malformed,
    #[error("the nonce was never issued (or has been forgotten)")]
    UnknownNonce,
    #[error("the token is not the one this nonce's creative frame was given")]
    WrongToken,
    #[error("the nonce was already used")]
    Reused,
    #[error("the report came before the frame could have been visible for a second")]
    TooEarly,
    #[error("the nonce expired")]
    Expired,
}

/// The per-frame secret that authorises the view claim for one nonce. The agent mints it when it
/// serves the creative frame and writes it only into that frame's document.
#[derive(Clone, Copy)]
pub struct ViewToken([u8; VIEW_TOKEN_BYTES]);

impl ViewToken {
    fn random() -> Self {
        let mut bytes = [0u8; VIEW_TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Constant-time, so the time a refusal takes says nothing about how much of a guess was right.
    fn matches(&self, claimed: &Self) -> bool {
        self.0.ct_eq(&claimed.0).into()
    }
}

/// Base64url without padding: safe unescaped in an HTML attribute and in JSON.
impl fmt::Display for ViewToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// A secret: never printed in logs.
impl fmt::Debug for ViewToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ViewToken(…)")
    }
}

impl FromStr for ViewToken {
    type Err = ViewRefused;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| ViewRefused::Malformed)?;
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| ViewRefused::Malformed)
    }
}

impl<'de> serde::Deserialize<'de> for ViewToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What the frame's script posts to `/megabox/view`: the nonce from the frame's URL and the token
/// from the frame's document.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewClaim {
    pub nonce: Nonce,
    pub token: ViewToken,
}

impl ViewClaim {
    /// Parses a beacon body; one without a well-formed token (such as the bare `{nonce}` a page
    /// script could build from the frame's `src`) is refused as malformed.
    pub fn parse(body: &[u8]) -> Result<Self, ViewRefused> {
        serde_json::from_slice(body).map_err(|_| ViewRefused::Malformed)
    }
}

/// What the first serve of a nonce's frame fixed: the creative shown, when, and the frame's token.
#[derive(Debug)]
struct Served {
    creative_id: CreativeId,
    at: Instant,
    token: ViewToken,
}

#[derive(Debug)]
struct Grant {
    size: SlotSize,
    served: Option<Served>,
    issued_at: Instant,
    redeemed: bool,
}

/// A view that passed every check and must be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedView {
    pub nonce: Nonce,
    pub creative_id: CreativeId,
    pub size: SlotSize,
}

/// Nonces issued to swapped slots, with their lifecycle: issued → served (creative bound, token
/// minted) → redeemed once with that token.
#[derive(Debug, Default)]
pub struct NonceRegistry {
    grants: HashMap<Nonce, Grant>,
}

impl NonceRegistry {
    /// Issues a fresh random nonce for a slot of `size`.
    pub fn issue(&mut self, size: SlotSize, now: Instant) -> Nonce {
        self.grants
            .retain(|_, grant| now.saturating_duration_since(grant.issued_at) <= NONCE_LIFETIME);
        if self.grants.len() >= OUTSTANDING_NONCES_MAX
            && let Some(oldest) = self
                .grants
                .iter()
                .min_by_key(|(_, grant)| grant.issued_at)
                .map(|(nonce, _)| *nonce)
        {
            self.grants.remove(&oldest);
        }
        let mut bytes = [0u8; Nonce::LENGTH];
        rand::rng().fill_bytes(&mut bytes);
        let nonce = Nonce(bytes);
        self.grants.insert(
            nonce,
            Grant {
                size,
                served: None,
                issued_at: now,
                redeemed: false,
            },
        );
        nonce
    }

    /// The size a nonce was issued for, if it is outstanding.
    pub fn size_of(&self, nonce: &Nonce) -> Option<SlotSize> {
        self.grants
            .get(nonce)
            .filter(|grant| !grant.redeemed)
            .map(|grant| grant.size)
    }

    /// Records which creative the frame showed and mints the token only that frame may claim its
    /// view with. Only the first serve counts: a second load of the frame for the same nonce (a
    /// reload, or a page script that read the nonce and requested the frame itself) gets neither a
    /// creative nor a token. So a nonce never has more than one valid token, the creative cannot
    /// change under a running view, and the worst a page can do by loading the frame first is lose
    /// its own view, never claim one: it cannot read the cross-origin response either.
    pub fn serve_frame(
        &mut self,
        nonce: &Nonce,
        creative_id: CreativeId,
        now: Instant,
    ) -> Result<ViewToken, ViewRefused> {
        let grant = self
            .grants
            .get_mut(nonce)
            .ok_or(ViewRefused::UnknownNonce)?;
        if grant.served.is_some() {
            return Err(ViewRefused::Reused);
        }
        let token = ViewToken::random();
        grant.served = Some(Served {
            creative_id,
            at: now,
            token,
        });
        Ok(token)
    }

    /// Accepts a view claim at `now`, at most once per nonce, and only with the token its frame was
    /// given. A wrong token does not use the nonce up, so a forger cannot cancel the real view.
    pub fn redeem(&mut self, claim: &ViewClaim, now: Instant) -> Result<AcceptedView, ViewRefused> {
        let grant = self
            .grants
            .get_mut(&claim.nonce)
            .ok_or(ViewRefused::UnknownNonce)?;
        // The token first: without it, a caller learns nothing about the nonce's state.
        let Some(served) = grant
            .served
            .as_ref()
            .filter(|served| served.token.matches(&claim.token))
        else {
            return Err(ViewRefused::WrongToken);
        };
        if grant.redeemed {
            return Err(ViewRefused::Reused);
        }
        if now.saturating_duration_since(grant.issued_at) > NONCE_LIFETIME {
            return Err(ViewRefused::Expired);
        }
        if now.saturating_duration_since(served.at) < VIEW_DURATION_MIN {
            return Err(ViewRefused::TooEarly);
        }
        let view = AcceptedView {
            nonce: claim.nonce,
            creative_id: served.creative_id.clone(),
            size: grant.size,
        };
        grant.redeemed = true;
        Ok(view)
    }

    pub fn outstanding(&self) -> usize {
        self.grants.values().filter(|grant| !grant.redeemed).count()
    }
}

/// The script the creative frame runs. It posts `{nonce, token}` to `/megabox/view` once, after the
/// frame has been at least half visible for one continuous second while the tab is visible and
/// the page focused; any interruption restarts the second.
pub const VIEWABILITY_SCRIPT: &str = r#"(function () {
  "use strict";
  // The token is written only into this document: the page around the frame can read the nonce
  // from the frame's src, but not this cross-origin document, so only this frame can claim the view.
  var nonce = document.documentElement.getAttribute("data-nonce");
  var token = document.documentElement.getAttribute("data-view-token");
  var VISIBLE_RATIO_MIN = 0.5, VIEW_MS = 1000;
  var ratio = 0, pageFocused = document.hasFocus(), timer = null, reported = false;
  function qualifies() {
    return ratio >= VISIBLE_RATIO_MIN && document.visibilityState === "visible" && (pageFocused || document.hasFocus());
  }
  // The frame is sandboxed without allow-same-origin, so its origin is opaque and every request
  // to the agent is cross-origin: a CORS-simple POST (text/plain, no-cors) needs no preflight.
  // A failed send is retried after another qualifying second; the agent counts a nonce once.
  function report() {
    if (reported) return;
    reported = true;
    fetch("/megabox/view", { method: "POST", mode: "no-cors", body: JSON.stringify({ nonce: nonce, token: token }) })
      .catch(function () { reported = false; update(); });
  }
  function update() {
    if (reported) return;
    if (qualifies()) {
      if (timer === null) timer = setTimeout(function () { timer = null; if (qualifies()) report(); else update(); }, VIEW_MS);
    } else if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }
  new IntersectionObserver(function (entries) {
    ratio = entries[entries.length - 1].intersectionRatio;
    update();
  }, { threshold: [0, 0.25, 0.5, 0.75, 1] }).observe(document.documentElement);
  document.addEventListener("visibilitychange", update);
  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && typeof event.data.megaboxFocus === "boolean") {
      pageFocused = event.data.megaboxFocus;
      update();
    }
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn size() -> SlotSize {
        SlotSize::new(300, 250).expect("size")
    }

    fn creative() -> CreativeId {
        CreativeId::parse("c1").expect("id")
    }

    /// A claim as the frame's script sends it.
    fn claim(nonce: Nonce, token: ViewToken) -> ViewClaim {
        ViewClaim { nonce, token }
    }

    #[test]
    fn view_lifecycle_table() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        // (serve after, redeem after, expected) — times relative to issuing.
        let cases: &[(Option<Duration>, Duration, Result<(), ViewRefused>)] = &[
            (Some(Duration::ZERO), second, Ok(())),
            (
                Some(Duration::ZERO),
                Duration::from_millis(999),
                Err(ViewRefused::TooEarly),
            ),
            (
                Some(Duration::from_secs(5)),
                Duration::from_millis(5_500),
                Err(ViewRefused::TooEarly),
            ),
            (Some(Duration::from_secs(5)), Duration::from_secs(6), Ok(())),
            // No frame was served, so no token exists that could match.
            (None, Duration::from_secs(10), Err(ViewRefused::WrongToken)),
            (
                Some(Duration::ZERO),
                NONCE_LIFETIME + second,
                Err(ViewRefused::Expired),
            ),
        ];
        for (serve_after, redeem_after, expected) in cases {
            let mut registry = NonceRegistry::default();
            let nonce = registry.issue(size(), start);
            let token = match serve_after {
                Some(serve_after) => registry
                    .serve_frame(&nonce, creative(), start + *serve_after)
                    .expect("serve"),
                None => ViewToken::random(),
            };
            let result = registry
                .redeem(&claim(nonce, token), start + *redeem_after)
                .map(|_| ());
            assert_eq!(
                result, *expected,
                "serve {serve_after:?} redeem {redeem_after:?}"
            );
        }
    }

    #[test]
    fn only_the_frames_own_token_claims_its_view() {
        let start = Instant::now();
        let mut registry = NonceRegistry::default();
        let nonce = registry.issue(size(), start);
        let token = registry
            .serve_frame(&nonce, creative(), start)
            .expect("serve")
            .to_string();
        let other_nonce = registry.issue(size(), start);
        let other_token = registry
            .serve_frame(&other_nonce, creative(), start)
            .expect("serve")
            .to_string();
        let guessed = ViewToken([7; VIEW_TOKEN_BYTES]).to_string();
        let body =
            |nonce: &Nonce, token: &str| format!(r#"{{"nonce":"{nonce}","token":"{token}"}}"#);
        // Run in order against one registry: refused claims must not use the nonce up, and the
        // replay comes after the accepted claim.
        let cases = [
            (
                "nonce only, as a page script reading the frame's src would send it",
                format!(r#"{{"nonce":"{nonce}"}}"#),
                Err(ViewRefused::Malformed),
            ),
            (
                "null token",
                format!(r#"{{"nonce":"{nonce}","token":null}}"#),
                Err(ViewRefused::Malformed),
            ),
            ("empty token", body(&nonce, ""), Err(ViewRefused::Malformed)),
            (
                "token one character short",
                body(&nonce, &token[1..]),
                Err(ViewRefused::Malformed),
            ),
            (
                "token and an unknown field",
                format!(r#"{{"nonce":"{nonce}","token":"{token}","ok":true}}"#),
                Err(ViewRefused::Malformed),
            ),
            (
                "guessed token",
                body(&nonce, &guessed),
                Err(ViewRefused::WrongToken),
            ),
            (
                "token of another nonce",
                body(&nonce, &other_token),
                Err(ViewRefused::WrongToken),
            ),
            (
                "a real token with a nonce never issued",
                body(&Nonce([9; Nonce::LENGTH]), &token),
                Err(ViewRefused::UnknownNonce),
            ),
            ("the frame's own token", body(&nonce, &token), Ok(())),
            (
                "replay of the accepted claim",
                body(&nonce, &token),
                Err(ViewRefused::Reused),
            ),
            (
                "replay with a wrong token",
                body(&nonce, &guessed),
                Err(ViewRefused::WrongToken),
            ),
            (
                "the other frame's own token",
                body(&other_nonce, &other_token),
                Ok(()),
            ),
        ];
        for (what, body, expected) in cases {
            let result = ViewClaim::parse(body.as_bytes())
                .and_then(|claim| registry.redeem(&claim, start + VIEW_DURATION_MIN))
                .map(|_| ());
            assert_eq!(result, expected, "{what}");
        }
    }

    #[test]
    fn a_nonce_counts_once_and_only_if_issued() {
        let start = Instant::now();
        let mut registry = NonceRegistry::default();
        let nonce = registry.issue(size(), start);
        let token = registry
            .serve_frame(&nonce, creative(), start)
            .expect("serve");
        assert_eq!(
            registry.serve_frame(&nonce, creative(), start).map(|_| ()),
            Err(ViewRefused::Reused),
            "a reloaded frame gets no second token"
        );
        let view = registry
            .redeem(&claim(nonce, token), start + VIEW_DURATION_MIN)
            .expect("first view");
        assert_eq!(
            view,
            AcceptedView {
                nonce,
                creative_id: creative(),
                size: size()
            }
        );
        assert_eq!(
            registry
                .redeem(&claim(nonce, token), start + VIEW_DURATION_MIN * 2)
                .map(|_| ()),
            Err(ViewRefused::Reused)
        );
        let unknown = claim(Nonce([9; Nonce::LENGTH]), token);
        assert_eq!(
            registry
                .redeem(&unknown, start + VIEW_DURATION_MIN)
                .map(|_| ()),
            Err(ViewRefused::UnknownNonce)
        );
        assert_eq!(
            registry.size_of(&nonce),
            None,
            "a redeemed nonce is no longer outstanding"
        );
    }

    #[test]
    fn view_tokens_are_random_and_round_trip_their_text() {
        let (first, second) = (ViewToken::random(), ViewToken::random());
        assert!(!first.matches(&second));
        let parsed: ViewToken = first.to_string().parse().expect("parse");
        assert!(parsed.matches(&first));
        assert_eq!(
            format!("{first:?}"),
            "ViewToken(…)",
            "a token never reaches a log"
        );
    }

    #[test]
    fn outstanding_nonces_are_bounded() {
        let start = Instant::now();
        let mut registry = NonceRegistry::default();
        let first = registry.issue(size(), start);
        for offset in 1..=OUTSTANDING_NONCES_MAX {
            registry.issue(
                size(),
                start + Duration::from_millis(u64::try_from(offset).expect("small")),
            );
        }
        assert_eq!(registry.outstanding(), OUTSTANDING_NONCES_MAX);
        assert_eq!(registry.size_of(&first), None, "the oldest was dropped");
        // Expired nonces are swept on the next issue.
        registry.issue(size(), start + NONCE_LIFETIME * 2);
        assert_eq!(registry.outstanding(), 1);
    }
}
