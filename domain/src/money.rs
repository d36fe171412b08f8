//! Money in integer minor units. No floats: every amount is a whole number of cents (or of
//! micro-cents for accruals below a cent, such as one impression's share of a CPM), and
//! arithmetic that could overflow says so instead of wrapping.

use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("amount overflows")]
    Overflow,
    #[error("basis points must be between 0 and 10000, got {0}")]
    BasisPointsOutOfRange(i64),
    #[error("amount must not be negative, got {0}")]
    Negative(i64),
}

/// An amount in minor units (cents) of the ledger's one currency.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// An amount in millionths of a cent, for accruals smaller than a cent.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct MicroCents(pub i64);

pub const MICRO_CENTS_PER_CENT: i64 = 1_000_000;

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// A price or other amount that must not be negative.
    pub fn non_negative(amount: i64) -> Result<Cents, MoneyError> {
        if amount < 0 {
            Err(MoneyError::Negative(amount))
        } else {
            Ok(Cents(amount))
        }
    }

    pub fn checked_add(self, other: Cents) -> Result<Cents, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Cents)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Cents) -> Result<Cents, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Cents)
            .ok_or(MoneyError::Overflow)
    }

    pub fn to_micro_cents(self) -> Result<MicroCents, MoneyError> {
        self.0
            .checked_mul(MICRO_CENTS_PER_CENT)
            .map(MicroCents)
            .ok_or(MoneyError::Overflow)
    }
}

impl MicroCents {
    pub const ZERO: MicroCents = MicroCents(0);

    pub fn checked_add(self, other: MicroCents) -> Result<MicroCents, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(MicroCents)
            .ok_or(MoneyError::Overflow)
    }

    /// Whole cents contained in this amount, rounding toward zero, and the micro-cents left over.
    pub fn split_whole_cents(self) -> (Cents, MicroCents) {
        (
            Cents(self.0 / MICRO_CENTS_PER_CENT),
            MicroCents(self.0 % MICRO_CENTS_PER_CENT),
        )
    }
}

impl fmt::Display for Cents {
    /// Renders as a decimal amount with two places, e.g. `-12.05`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(
            formatter,
            "{sign}{}.{:02}",
            magnitude / 100,
            magnitude % 100
        )
    }
}

/// A share in hundredths of a percent: 9000 is 90%.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct BasisPoints(i64);

impl BasisPoints {
    pub const WHOLE: BasisPoints = BasisPoints(10_000);

    pub fn new(value: i64) -> Result<BasisPoints, MoneyError> {
        if (0..=10_000).contains(&value) {
            Ok(BasisPoints(value))
        } else {
            Err(MoneyError::BasisPointsOutOfRange(value))
        }
    }

    pub fn value(self) -> i64 {
        self.0
    }

    /// The complementary share: 9000 → 1000.
    pub fn complement(self) -> BasisPoints {
        BasisPoints(10_000 - self.0)
    }
}

impl TryFrom<i64> for BasisPoints {
    type Error = MoneyError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        BasisPoints::new(value)
    }
}

impl From<BasisPoints> for i64 {
    fn from(value: BasisPoints) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_display_as_decimal_amounts() {
        let cases = [
            (0, "0.00"),
            (5, "0.05"),
            (100, "1.00"),
            (-1205, "-12.05"),
            (123_456, "1234.56"),
        ];
        for (cents, expected) in cases {
            assert_eq!(Cents(cents).to_string(), expected);
        }
    }

    #[test]
    fn basis_points_are_bounded() {
        assert!(BasisPoints::new(-1).is_err());
        assert!(BasisPoints::new(10_001).is_err());
        assert_eq!(
            BasisPoints::new(9000).map(BasisPoints::complement),
            Ok(BasisPoints(1000))
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            Cents(i64::MAX).checked_add(Cents(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Cents(i64::MAX).to_micro_cents(), Err(MoneyError::Overflow));
        assert_eq!(
            MicroCents(2_500_001).split_whole_cents(),
            (Cents(2), MicroCents(500_001))
        );
    }
}
