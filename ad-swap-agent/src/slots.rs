//! Which ad slots get swapped: pure, deterministic, keyed by the install secret.
//!
//! A slot is a candidate when HMAC-SHA256(install secret, page ‖ slot) falls below
//! `swap_percent` of the hash space, so the same page shows the same choice on reload (no
//! flicker, nothing to game by reloading) while different installs choose differently. At most
//! one slot per page is swapped (the first candidate in document order), and no more than
//! `swaps_per_day_max` per day.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The 32-byte key for the HMAC that makes slot choice deterministic per install (kept in the
/// agent directory by [`crate::install`]).
#[derive(Clone)]
pub struct InstallSecret(pub [u8; 32]);

/// How many and which slots may be swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotChoiceSettings {
    /// Share of eligible slots that are candidates, 0 to 100.
    pub swap_percent: u8,
    /// Most swaps per calendar day (UTC).
    pub swaps_per_day_max: u32,
}

/// Decides candidates for one install.
#[derive(Clone)]
pub struct SlotChooser {
    secret: InstallSecret,
    settings: SlotChoiceSettings,
}

impl SlotChooser {
    pub fn new(secret: InstallSecret, settings: SlotChoiceSettings) -> Self {
        Self { secret, settings }
    }

    /// Uniform 64-bit score of (page, slot) under this install's secret.
    fn score(&self, page: &str, slot_key: &str) -> u64 {
        // new_from_slice only fails for key lengths HMAC cannot take; 32 bytes is always fine.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret.0) else {
            return u64::MAX;
        };
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        for part in [page, slot_key] {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }

    /// True when this slot of this page is in the install's `swap_percent` share.
    pub fn is_candidate(&self, page: &str, slot_key: &str) -> bool {
        let percent = u64::from(self.settings.swap_percent.min(100));
        if percent == 100 {
            return true;
        }
        self.score(page, slot_key) < (u64::MAX / 100) * percent
    }

    /// Starts the choice for one page load, given how many swaps were already made today.
    pub fn page(&self, page: impl Into<String>, swaps_today: u32) -> PageChoice<'_> {
        PageChoice {
            chooser: self,
            page: page.into(),
            chosen: false,
            cap_reached: swaps_today >= self.settings.swaps_per_day_max,
        }
    }
}

/// The choice on one page: offered eligible slots in document order, says yes at most once.
pub struct PageChoice<'chooser> {
    chooser: &'chooser SlotChooser,
    page: String,
    chosen: bool,
    cap_reached: bool,
}

impl PageChoice<'_> {
    /// Offers an eligible slot; returns true if this is the one slot to swap on this page.
    pub fn offer(&mut self, slot_key: &str) -> bool {
        if self.chosen || self.cap_reached || !self.chooser.is_candidate(&self.page, slot_key) {
            return false;
        }
        self.chosen = true;
        true
    }

    pub fn has_chosen(&self) -> bool {
        self.chosen
    }
}

/// A count that restarts each UTC day (swaps for the daily cap, impressions for the status page).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DailyCount {
    /// Days since the Unix epoch that `count` is for.
    pub day: u64,
    pub count: u32,
}

impl DailyCount {
    /// The count on `day` (zero if the stored count is for another day).
    pub fn on(self, day: u64) -> u32 {
        if self.day == day { self.count } else { 0 }
    }

    /// Counts one more on `day`.
    pub fn record(self, day: u64) -> Self {
        Self {
            day,
            count: self.on(day).saturating_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chooser(secret_byte: u8, swap_percent: u8, swaps_per_day_max: u32) -> SlotChooser {
        SlotChooser::new(
            InstallSecret([secret_byte; 32]),
            SlotChoiceSettings {
                swap_percent,
                swaps_per_day_max,
            },
        )
    }

    #[test]
    fn extremes_of_the_percentage() {
        let never = chooser(1, 0, 30);
        let always = chooser(1, 100, 30);
        for slot in 0..200 {
            let key = format!("slot-{slot}");
            assert!(!never.is_candidate("https://news.test/a", &key));
            assert!(always.is_candidate("https://news.test/a", &key));
        }
    }

    #[test]
    fn the_daily_cap_stops_all_swaps() {
        let chooser = chooser(1, 100, 2);
        assert!(chooser.page("p", 1).offer("s"));
        assert!(!chooser.page("p", 2).offer("s"));
        assert!(!chooser.page("p", 3).offer("s"));
    }

    #[test]
    fn daily_count_resets_on_a_new_day() {
        let count = DailyCount::default().record(10).record(10);
        assert_eq!(count.on(10), 2);
        assert_eq!(count.on(11), 0);
        assert_eq!(count.record(11), DailyCount { day: 11, count: 1 });
    }

    #[test]
    fn share_of_candidates_is_close_to_the_setting() {
        let chooser = chooser(7, 10, 30);
        let total = 20_000;
        let candidates = (0..total)
            .filter(|index| chooser.is_candidate("https://news.test/", &format!("s{index}")))
            .count();
        // Binomial(20000, 0.1): standard deviation ≈ 42, so ±300 fails only by a bug.
        assert!((1_700..=2_300).contains(&candidates), "{candidates}");
    }

    proptest! {
        #[test]
        fn at_most_one_slot_per_page(page in ".{0,40}", slots in proptest::collection::vec("[a-z0-9-]{1,12}", 0..40), percent in 0u8..=100) {
            let chooser = chooser(3, percent, 30);
            let mut choice = chooser.page(page, 0);
            let chosen = slots.iter().filter(|slot| choice.offer(slot)).count();
            prop_assert!(chosen <= 1);
            prop_assert_eq!(choice.has_chosen(), chosen == 1);
        }

        #[test]
        fn choice_is_deterministic_per_install(page in ".{0,40}", slot in ".{0,20}") {
            let first = chooser(3, 10, 30);
            let again = chooser(3, 10, 30);
            prop_assert_eq!(first.is_candidate(&page, &slot), again.is_candidate(&page, &slot));
        }

        #[test]
        fn chosen_slot_is_the_first_candidate(slots in proptest::collection::vec("[a-z]{1,6}", 1..30)) {
            let chooser = chooser(5, 30, 30);
            let mut choice = chooser.page("https://news.test/", 0);
            let chosen = slots.iter().position(|slot| choice.offer(slot));
            let first_candidate = slots.iter().position(|slot| chooser.is_candidate("https://news.test/", slot));
            prop_assert_eq!(chosen, first_candidate);
        }
    }

    #[test]
    fn installs_choose_differently() {
        let first = chooser(1, 10, 30);
        let second = chooser(2, 10, 30);
        let differ = (0..2_000).filter(|index| {
            let key = format!("s{index}");
            first.is_candidate("p", &key) != second.is_candidate("p", &key)
        });
        assert!(differ.count() > 100);
    }
}
