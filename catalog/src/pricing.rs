//! Price rules of releases and tracks. Checkout reads them from the catalog
//! ([`crate::releases::price_of_release`], [`crate::tracks::price_of_track`]) and never takes a
//! price from the client; the listener only chooses an amount for pay-what-you-want, which
//! [`Price::charge_for`] checks against the rule.

use megabox_domain::Cents;

use crate::error::CatalogError;

/// The highest price or suggested amount an artist may set: 1,000.00.
pub const PRICE_CENTS_MAX: i64 = 100_000;
/// The most a listener may choose to pay under pay-what-you-want: 10,000.00, a bound against
/// typos and card-testing rather than a business rule.
pub const OFFER_CENTS_MAX: i64 = 1_000_000;

/// How a release or track is sold. Constructed only through [`Price::fixed`] and
/// [`Price::pay_what_you_want`], so a value of this type always satisfies its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Price {
    /// Everyone pays `price`. Free music is pay-what-you-want with a minimum of zero.
    Fixed { price: Cents },
    /// The listener pays at least `minimum`; `suggested` is what the store proposes.
    PayWhatYouWant { minimum: Cents, suggested: Cents },
}

impl Price {
    pub fn fixed(price: Cents) -> Result<Price, CatalogError> {
        if price.0 <= 0 {
            return Err(CatalogError::invalid(
                "price",
                "a fixed price must be positive; use pay-what-you-want with minimum 0 for free music",
            ));
        }
        check_ceiling("price", price)?;
        Ok(Price::Fixed { price })
    }

    pub fn pay_what_you_want(minimum: Cents, suggested: Cents) -> Result<Price, CatalogError> {
        if minimum.0 < 0 {
            return Err(CatalogError::invalid(
                "minimum_price",
                "must not be negative",
            ));
        }
        if suggested.0 < minimum.0 {
            return Err(CatalogError::invalid(
                "suggested_price",
                "must be at least the minimum",
            ));
        }
        check_ceiling("suggested_price", suggested)?;
        Ok(Price::PayWhatYouWant { minimum, suggested })
    }

    /// What the listener is charged: the fixed price, or their offer if the rule accepts it.
    pub fn charge_for(&self, offer: Option<Cents>) -> Result<Cents, CatalogError> {
        match (*self, offer) {
            (Price::Fixed { price }, _) => Ok(price),
            (Price::PayWhatYouWant { suggested, .. }, None) => Ok(suggested),
            (Price::PayWhatYouWant { minimum, .. }, Some(offer)) if offer < minimum => Err(
                CatalogError::invalid("amount", format!("at least {minimum} is required")),
            ),
            (Price::PayWhatYouWant { .. }, Some(offer)) if offer.0 > OFFER_CENTS_MAX => {
                Err(CatalogError::invalid(
                    "amount",
                    format!("at most {} is accepted", Cents(OFFER_CENTS_MAX)),
                ))
            }
            (Price::PayWhatYouWant { .. }, Some(offer)) => Ok(offer),
        }
    }

    /// The three stored columns: kind, price (or suggested amount), minimum.
    pub(crate) fn to_columns(price: Option<Price>) -> (Option<String>, Option<i64>, Option<i64>) {
        match price {
            None => (None, None, None),
            Some(Price::Fixed { price }) => (Some(FIXED.to_owned()), Some(price.0), None),
            Some(Price::PayWhatYouWant { minimum, suggested }) => (
                Some(PAY_WHAT_YOU_WANT.to_owned()),
                Some(suggested.0),
                Some(minimum.0),
            ),
        }
    }

    /// Reads the stored columns back through the same rules that admitted them.
    pub(crate) fn from_columns(
        kind: Option<&str>,
        price_cents: Option<i64>,
        minimum_price_cents: Option<i64>,
    ) -> Result<Option<Price>, CatalogError> {
        let price = match (kind, price_cents, minimum_price_cents) {
            (None, None, None) => return Ok(None),
            (Some(FIXED), Some(price), None) => Price::fixed(Cents(price)),
            (Some(PAY_WHAT_YOU_WANT), Some(suggested), Some(minimum)) => {
                Price::pay_what_you_want(Cents(minimum), Cents(suggested))
            }
            _ => {
                return Err(CatalogError::Corrupt(format!(
                    "price columns {kind:?} {price_cents:?} {minimum_price_cents:?}"
                )));
            }
        };
        price.map(Some).map_err(|error| {
            CatalogError::Corrupt(format!("stored price breaks its rule: {error}"))
        })
    }
}

const FIXED: &str = "fixed";
const PAY_WHAT_YOU_WANT: &str = "pay_what_you_want";

fn check_ceiling(field: &'static str, amount: Cents) -> Result<(), CatalogError> {
    if amount.0 > PRICE_CENTS_MAX {
        return Err(CatalogError::invalid(
            field,
            format!("at most {} allowed", Cents(PRICE_CENTS_MAX)),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_rules_reject_impossible_prices() {
        let fixed_cases = [
            (-1, false),
            (0, false),
            (1, true),
            (PRICE_CENTS_MAX, true),
            (PRICE_CENTS_MAX + 1, false),
            (i64::MIN, false),
        ];
        for (price, accepted) in fixed_cases {
            assert_eq!(
                Price::fixed(Cents(price)).is_ok(),
                accepted,
                "fixed {price}"
            );
        }
        let pay_what_you_want_cases = [
            ((0, 0), true),
            ((0, 500), true),
            ((500, 500), true),
            ((-1, 500), false),
            ((-500, -100), false),
            ((600, 500), false),
            ((0, PRICE_CENTS_MAX + 1), false),
            ((i64::MAX, i64::MAX), false),
        ];
        for ((minimum, suggested), accepted) in pay_what_you_want_cases {
            assert_eq!(
                Price::pay_what_you_want(Cents(minimum), Cents(suggested)).is_ok(),
                accepted,
                "minimum {minimum} suggested {suggested}"
            );
        }
    }

    #[test]
    fn charges_follow_the_rule() -> Result<(), CatalogError> {
        let fixed = Price::fixed(Cents(900))?;
        assert_eq!(
            fixed.charge_for(Some(Cents(1))).ok(),
            Some(Cents(900)),
            "a fixed price ignores offers"
        );
        let open = Price::pay_what_you_want(Cents(300), Cents(700))?;
        let cases = [
            (None, Some(700)),
            (Some(300), Some(300)),
            (Some(5_000), Some(5_000)),
            (Some(299), None),
            (Some(-1), None),
            (Some(OFFER_CENTS_MAX + 1), None),
        ];
        for (offer, expected) in cases {
            assert_eq!(
                open.charge_for(offer.map(Cents)).ok(),
                expected.map(Cents),
                "offer {offer:?}"
            );
        }
        Ok(())
    }

    /// Amounts around every boundary the rules have: zero, the price ceiling, the offer ceiling.
    fn amount() -> impl proptest::strategy::Strategy<Value = i64> {
        proptest::prop_oneof![
            -1_000_i64..=1_000,
            PRICE_CENTS_MAX - 1_000..=PRICE_CENTS_MAX + 1_000,
            OFFER_CENTS_MAX - 10..=OFFER_CENTS_MAX + 10,
            proptest::num::i64::ANY
        ]
    }

    proptest::proptest! {
        #[test]
        fn pay_what_you_want_needs_an_ordered_bounded_pair(minimum in amount(), suggested in amount()) {
            let valid = 0 <= minimum && minimum <= suggested && suggested <= PRICE_CENTS_MAX;
            proptest::prop_assert_eq!(Price::pay_what_you_want(Cents(minimum), Cents(suggested)).is_ok(), valid);
        }

        #[test]
        fn a_charge_never_breaks_the_rule(minimum in 0..=PRICE_CENTS_MAX, extra in 0..=PRICE_CENTS_MAX, offer in amount()) {
            let suggested = (minimum + extra).min(PRICE_CENTS_MAX);
            let rule = Price::pay_what_you_want(Cents(minimum), Cents(suggested)).map_err(|error| proptest::test_runner::TestCaseError::fail(error.to_string()))?;
            match rule.charge_for(Some(Cents(offer))) {
                Ok(charge) => proptest::prop_assert!(charge == Cents(offer) && minimum <= offer && offer <= OFFER_CENTS_MAX),
                Err(_) => proptest::prop_assert!(offer < minimum || offer > OFFER_CENTS_MAX),
            }
        }
    }

    #[test]
    fn columns_round_trip_and_corrupt_rows_are_caught() -> Result<(), CatalogError> {
        for price in [
            None,
            Some(Price::fixed(Cents(100))?),
            Some(Price::pay_what_you_want(Cents(0), Cents(50))?),
        ] {
            let (kind, amount, minimum) = Price::to_columns(price);
            assert_eq!(
                Price::from_columns(kind.as_deref(), amount, minimum)?,
                price
            );
        }
        for (kind, amount, minimum) in [
            (Some("fixed"), None, None),
            (Some("fixed"), Some(0), None),
            (Some("pay_what_you_want"), Some(1), Some(2)),
            (Some("gift"), Some(1), None),
            (None, Some(1), None),
        ] {
            assert!(
                matches!(
                    Price::from_columns(kind, amount, minimum),
                    Err(CatalogError::Corrupt(_))
                ),
                "{kind:?} {amount:?} {minimum:?}"
            );
        }
        Ok(())
    }
}
