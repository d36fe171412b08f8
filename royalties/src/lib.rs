//! royalties (being written).
