//! Viewability: the nonces the agent issues per swapped slot, the rules a view report must meet,
//! and the script the creative frame runs to measure "≥ 50% visible for 1 continuous second in
//! a focused, visible tab".
//!
//! The script only *claims* a view; the agent accepts a claim once per nonce it issued, no
//! sooner than [`VIEW_DURATION_MIN`] after the frame was served (a view cannot be faster than
//! the second it has to last) and no later than [`NONCE_LIFETIME`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use megabox_protocol::{CreativeId, Nonce, SlotSize};
use rand::RngCore as _;

/// How long the creative must stay ≥ 50% visible.
pub const VIEW_DURATION_MIN: Duration = Duration::from_secs(1);

/// A nonce not redeemed within this time is forgotten.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Most outstanding nonces; beyond this the oldest are dropped (bounded memory).
pub const OUTSTANDING_NONCES_MAX: usize = 4096;

/// Why a view report was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ViewRefused {
    #[error("the nonce was never issued (or has been forgotten)")]
    UnknownNonce,
    #[error("the nonce was already used")]
    Reused,
    #[error("the report came before the frame could have been visible for a second")]
    TooEarly,
    #[error("the nonce expired")]
    Expired,
    #[error("no creative was shown in this slot")]
    NoCreative,
}

#[derive(Debug)]
struct Grant {
    size: SlotSize,
    creative: Option<CreativeId>,
    served_at: Option<Instant>,
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

/// Nonces issued to swapped slots, with their lifecycle: issued → served (creative bound) →
/// redeemed once.
#[derive(Debug, Default)]
pub struct NonceRegistry {
    grants: HashMap<Nonce, Grant>,
}

impl NonceRegistry {
    /// Issues a fresh random nonce for a slot of `size`.
    pub fn issue(&mut self, size: SlotSize, now: Instant) -> Nonce {
        self.grants.retain(|_, grant| now.saturating_duration_since(grant.issued_at) <= NONCE_LIFETIME);
        if self.grants.len() >= OUTSTANDING_NONCES_MAX
            && let Some(oldest) = self.grants.iter().min_by_key(|(_, grant)| grant.issued_at).map(|(nonce, _)| *nonce)
        {
            self.grants.remove(&oldest);
        }
        let mut bytes = [0u8; Nonce::LENGTH];
        rand::rng().fill_bytes(&mut bytes);
        let nonce = Nonce(bytes);
        self.grants.insert(nonce, Grant { size, creative: None, served_at: None, issued_at: now, redeemed: false });
        nonce
    }

    /// The size a nonce was issued for, if it is outstanding.
    pub fn size_of(&self, nonce: &Nonce) -> Option<SlotSize> {
        self.grants.get(nonce).filter(|grant| !grant.redeemed).map(|grant| grant.size)
    }

    /// Records which creative the frame showed; only the first serve counts, so a reloaded frame
    /// cannot swap the creative under an already running view.
    pub fn bind_creative(&mut self, nonce: &Nonce, creative_id: CreativeId, now: Instant) -> Result<(), ViewRefused> {
        let grant = self.grants.get_mut(nonce).ok_or(ViewRefused::UnknownNonce)?;
        if grant.creative.is_some() {
            return Err(ViewRefused::Reused);
        }
        grant.creative = Some(creative_id);
        grant.served_at = Some(now);
        Ok(())
    }

    /// Accepts a view claim for `nonce` at `now`, at most once.
    pub fn redeem(&mut self, nonce: &Nonce, now: Instant) -> Result<AcceptedView, ViewRefused> {
        let grant = self.grants.get_mut(nonce).ok_or(ViewRefused::UnknownNonce)?;
        if grant.redeemed {
            return Err(ViewRefused::Reused);
        }
        if now.saturating_duration_since(grant.issued_at) > NONCE_LIFETIME {
            return Err(ViewRefused::Expired);
        }
        let (Some(creative_id), Some(served_at)) = (grant.creative.clone(), grant.served_at) else {
            return Err(ViewRefused::NoCreative);
        };
        if now.saturating_duration_since(served_at) < VIEW_DURATION_MIN {
            return Err(ViewRefused::TooEarly);
        }
        grant.redeemed = true;
        Ok(AcceptedView { nonce: *nonce, creative_id, size: grant.size })
    }

    pub fn outstanding(&self) -> usize {
        self.grants.values().filter(|grant| !grant.redeemed).count()
    }
}

/// The script the creative frame runs. It posts `{nonce}` to `/megabox/view` once, after the
/// frame has been at least half visible for one continuous second while the tab is visible and
/// the page focused; any interruption restarts the second.
pub const VIEWABILITY_SCRIPT: &str = r#"(function () {
  "use strict";
  var nonce = document.documentElement.getAttribute("data-nonce");
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
    fetch("/megabox/view", { method: "POST", mode: "no-cors", body: JSON.stringify({ nonce: nonce }) })
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

    #[test]
    fn view_lifecycle_table() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        // (serve after, redeem after, expected) — times relative to issuing.
        let cases: &[(Option<Duration>, Duration, Result<(), ViewRefused>)] = &[
            (Some(Duration::ZERO), second, Ok(())),
            (Some(Duration::ZERO), Duration::from_millis(999), Err(ViewRefused::TooEarly)),
            (Some(Duration::from_secs(5)), Duration::from_millis(5_500), Err(ViewRefused::TooEarly)),
            (Some(Duration::from_secs(5)), Duration::from_secs(6), Ok(())),
            (None, Duration::from_secs(10), Err(ViewRefused::NoCreative)),
            (Some(Duration::ZERO), NONCE_LIFETIME + second, Err(ViewRefused::Expired)),
        ];
        for (serve_after, redeem_after, expected) in cases {
            let mut registry = NonceRegistry::default();
            let nonce = registry.issue(size(), start);
            if let Some(serve_after) = serve_after {
                registry.bind_creative(&nonce, creative(), start + *serve_after).expect("bind");
            }
            let result = registry.redeem(&nonce, start + *redeem_after).map(|_| ());
            assert_eq!(result, *expected, "serve {serve_after:?} redeem {redeem_after:?}");
        }
    }

    #[test]
    fn a_nonce_counts_once_and_only_if_issued() {
        let start = Instant::now();
        let mut registry = NonceRegistry::default();
        let nonce = registry.issue(size(), start);
        registry.bind_creative(&nonce, creative(), start).expect("bind");
        assert_eq!(registry.bind_creative(&nonce, creative(), start), Err(ViewRefused::Reused), "frame reload");
        let view = registry.redeem(&nonce, start + VIEW_DURATION_MIN).expect("first view");
        assert_eq!(view, AcceptedView { nonce, creative_id: creative(), size: size() });
        assert_eq!(registry.redeem(&nonce, start + VIEW_DURATION_MIN * 2), Err(ViewRefused::Reused));
        assert_eq!(registry.redeem(&Nonce([9; 16]), start + VIEW_DURATION_MIN), Err(ViewRefused::UnknownNonce));
        assert_eq!(registry.size_of(&nonce), None, "a redeemed nonce is no longer outstanding");
    }

    #[test]
    fn outstanding_nonces_are_bounded() {
        let start = Instant::now();
        let mut registry = NonceRegistry::default();
        let first = registry.issue(size(), start);
        for offset in 1..=OUTSTANDING_NONCES_MAX {
            registry.issue(size(), start + Duration::from_millis(u64::try_from(offset).expect("small")));
        }
        assert_eq!(registry.outstanding(), OUTSTANDING_NONCES_MAX);
        assert_eq!(registry.size_of(&first), None, "the oldest was dropped");
        // Expired nonces are swept on the next issue.
        registry.issue(size(), start + NONCE_LIFETIME * 2);
        assert_eq!(registry.outstanding(), 1);
    }
}
