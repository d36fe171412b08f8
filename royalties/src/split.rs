//! Splitting an amount of minor units into parts proportional to integer weights, with the
//! largest-remainder method: every part gets the floor of its exact share, and the units left
//! over go one each to the parts with the largest fractional remainders, ties going to the
//! smaller key. The parts always sum exactly to the total, each is within one unit of its
//! exact share, and the result depends only on the set of (key, weight) pairs.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SplitError {
    #[error("cannot split {total} among parts that all weigh nothing")]
    NoWeight { total: i64 },
    #[error("the same key appears twice among the parts of a split")]
    DuplicateKey,
}

/// Splits `total` (of either sign) among `weights`; the parts come back in the input order.
pub fn largest_remainder<Key: Ord + Clone>(
    total: i64,
    weights: &[(Key, u64)],
) -> Result<Vec<(Key, i64)>, SplitError> {
    let mut by_key: Vec<&Key> = weights.iter().map(|(key, _)| key).collect();
    by_key.sort();
    if by_key.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(SplitError::DuplicateKey);
    }
    let weight_sum: u128 = weights.iter().map(|(_, weight)| u128::from(*weight)).sum();
    if weight_sum == 0 {
        return if total == 0 {
            Ok(weights.iter().map(|(key, _)| (key.clone(), 0)).collect())
        } else {
            Err(SplitError::NoWeight { total })
        };
    }
    // Split the magnitude and restore the sign at the end, so that a negative total is the
    // exact mirror of the positive one. |total| · weight < 2^63 · 2^64 fits in u128.
    let magnitude = u128::from(total.unsigned_abs());
    let mut floors = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (_, weight) in weights {
        let product = magnitude * u128::from(*weight);
        floors.push(product / weight_sum);
        remainders.push(product % weight_sum);
    }
    // The floors sum to at most the magnitude, and fall short by fewer units than there are parts.
    let leftover = magnitude - floors.iter().sum::<u128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&left, &right| {
        remainders[right]
            .cmp(&remainders[left])
            .then_with(|| weights[left].0.cmp(&weights[right].0))
    });
    for &index in order
        .iter()
        .take(usize::try_from(leftover).unwrap_or(usize::MAX))
    {
        floors[index] += 1;
    }
    let sign: i128 = if total < 0 { -1 } else { 1 };
    Ok(weights
        .iter()
        .zip(floors)
        .map(|((key, _), part)| {
            // A part never exceeds |total|, so it fits back into an i64 with the total's sign.
            let signed = sign * i128::try_from(part).unwrap_or(i128::MAX);
            (
                key.clone(),
                i64::try_from(signed).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX }),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_examples() {
        /// (total, weights, expected parts)
        type Case = (i64, &'static [(&'static str, u64)], &'static [i64]);
        let cases: &[Case] = &[
            (100, &[("a", 1), ("b", 1), ("c", 1)], &[34, 33, 33]),
            (100, &[("c", 1), ("b", 1), ("a", 1)], &[33, 33, 34]),
            (-100, &[("a", 1), ("b", 1), ("c", 1)], &[-34, -33, -33]),
            (5, &[("artist", 9000), ("platform", 1000)], &[5, 0]),
            (1000, &[("artist", 9000), ("platform", 1000)], &[900, 100]),
            (7, &[("a", 0), ("b", 3)], &[0, 7]),
            (0, &[("a", 0)], &[0]),
            (
                i64::MAX,
                &[("a", u64::MAX), ("b", u64::MAX)],
                &[i64::MAX / 2 + 1, i64::MAX / 2],
            ),
            (i64::MIN, &[("a", 1)], &[i64::MIN]),
        ];
        for (total, weights, expected) in cases {
            let parts: Vec<i64> = largest_remainder(*total, weights)
                .unwrap_or_else(|error| panic!("{total} {weights:?}: {error}"))
                .into_iter()
                .map(|(_, part)| part)
                .collect();
            assert_eq!(&parts, expected, "{total} split by {weights:?}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_split() {
        assert_eq!(
            largest_remainder(1, &[("a", 0)]),
            Err(SplitError::NoWeight { total: 1 })
        );
        assert_eq!(
            largest_remainder::<&str>(1, &[]),
            Err(SplitError::NoWeight { total: 1 })
        );
        assert_eq!(
            largest_remainder(1, &[("a", 1), ("a", 2)]),
            Err(SplitError::DuplicateKey)
        );
    }

    fn weights_strategy() -> impl Strategy<Value = Vec<(u32, u64)>> {
        proptest::collection::btree_map(any::<u32>(), 0..u64::MAX, 1..40)
            .prop_map(|map| map.into_iter().collect::<Vec<_>>())
            .prop_filter("some weight", |weights| {
                weights.iter().any(|(_, weight)| *weight > 0)
            })
    }

    proptest! {
        #[test]
        fn parts_sum_exactly_and_stay_within_one_unit_of_the_exact_share(
            total in any::<i64>(),
            weights in weights_strategy(),
        ) {
            let parts = largest_remainder(total, &weights).map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(parts.iter().map(|(_, part)| i128::from(*part)).sum::<i128>(), i128::from(total));
            let weight_sum: i128 = weights.iter().map(|(_, weight)| i128::from(*weight)).sum();
            for ((_, part), (_, weight)) in parts.iter().zip(&weights) {
                // |part − total·weight/weight_sum| < 1, in integers.
                let difference = i128::from(*part) * weight_sum - i128::from(total) * i128::from(*weight);
                prop_assert!(difference.abs() < weight_sum, "part {} weight {}", part, weight);
            }
        }

        #[test]
        fn the_result_does_not_depend_on_the_order_of_the_parts(
            total in any::<i64>(),
            weights in weights_strategy(),
            rotation in any::<usize>(),
        ) {
            let parts = largest_remainder(total, &weights).map_err(|error| TestCaseError::fail(error.to_string()))?;
            prop_assert_eq!(&parts, &largest_remainder(total, &weights).map_err(|error| TestCaseError::fail(error.to_string()))?);
            let mut shuffled = weights.clone();
            shuffled.reverse();
            let middle = rotation % shuffled.len();
            shuffled.rotate_left(middle);
            let mut reordered = largest_remainder(total, &shuffled).map_err(|error| TestCaseError::fail(error.to_string()))?;
            reordered.sort();
            let mut sorted = parts;
            sorted.sort();
            prop_assert_eq!(sorted, reordered);
        }
    }
}
