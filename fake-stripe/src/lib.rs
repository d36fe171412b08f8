//! fake-stripe (being written).
