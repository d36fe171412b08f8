//! Tests of the wire format: parsing of hostile values, canonical bytes, signatures.

use super::*;
use proptest::prelude::*;

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn event(index: u8) -> ImpressionEvent {
    ImpressionEvent {
        event_id: EventId(Uuid::from_bytes([index; 16])),
        creative_id: CreativeId::parse("spring-sale_01").expect("valid id"),
        size: SlotSize::new(300, 250).expect("valid size"),
        time_bucket: TimeBucket(493_000),
        nonce: Nonce([index.wrapping_add(1); 16]),
    }
}

fn batch(sequence: u64, events: Vec<ImpressionEvent>) -> UnsignedBatch {
    UnsignedBatch {
        device_id: DeviceId(Uuid::from_bytes([7; 16])),
        sequence,
        events,
    }
}

#[test]
fn creative_ids_are_short_ascii_tokens() {
    let long = "a".repeat(CREATIVE_ID_BYTES_MAX + 1);
    let cases: &[(&str, bool)] = &[
        ("spring-sale_01", true),
        ("a", true),
        (&long[1..], true),
        (&long, false),
        ("", false),
        ("has space", false),
        ("https://evil.example/", false),
        ("ünïcode", false),
        ("a\u{0}b", false),
    ];
    for (text, valid) in cases {
        assert_eq!(CreativeId::parse(text).is_ok(), *valid, "{text:?}");
    }
}

#[test]
fn slot_sizes_have_one_spelling() {
    let cases: &[(&str, Option<(u16, u16)>)] = &[
        ("300x250", Some((300, 250))),
        ("1x1", Some((1, 1))),
        ("4096x4096", Some((4096, 4096))),
        ("4097x1", None),
        ("0x250", None),
        ("0300x250", None),
        ("+300x250", None),
        ("300X250", None),
        ("300x", None),
        ("x250", None),
        ("300x250x1", None),
        ("99999999999x1", None),
        ("", None),
    ];
    for (text, expected) in cases {
        let parsed = text
            .parse::<SlotSize>()
            .ok()
            .map(|size| (size.width_pixels(), size.height_pixels()));
        assert_eq!(parsed, *expected, "{text:?}");
        if let Ok(size) = text.parse::<SlotSize>() {
            assert_eq!(size.to_string(), *text);
        }
    }
}

#[test]
fn pairing_codes_drop_readability_separators() {
    assert_eq!(
        PairingCode::parse("ab12-cd34").map(|code| code.as_str().to_owned()),
        Ok("ab12cd34".to_owned())
    );
    assert_eq!(
        PairingCode::parse("AB 12").map(|code| code.as_str().to_owned()),
        Ok("AB12".to_owned())
    );
    for hostile in [
        "",
        "---",
        "ab;cd",
        "ab\ncd",
        &"a".repeat(PAIRING_CODE_CHARACTERS_MAX + 1),
    ] {
        assert_eq!(
            PairingCode::parse(hostile),
            Err(ProtocolError::InvalidPairingCode),
            "{hostile:?}"
        );
    }
}

#[test]
fn signed_batch_verifies_and_survives_json() {
    let key = signing_key(1);
    let signed = batch(5, vec![event(1), event(2)]).sign(&key).expect("sign");
    let json = serde_json::to_string(&signed).expect("serialize");
    let parsed: ImpressionBatch = serde_json::from_str(&json).expect("parse");
    assert_eq!(parsed, signed);
    assert_eq!(parsed.verify(&PublicKey::of(&key)), Ok(()));
}

#[test]
fn any_change_breaks_the_signature() {
    let key = signing_key(1);
    let signed = batch(5, vec![event(1), event(2)]).sign(&key).expect("sign");
    let public_key = PublicKey::of(&key);
    type Mutation = Box<dyn Fn(&mut ImpressionBatch)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        ("sequence", Box::new(|batch| batch.sequence += 1)),
        (
            "device",
            Box::new(|batch| batch.device_id = DeviceId(Uuid::from_bytes([8; 16]))),
        ),
        (
            "creative",
            Box::new(|batch| batch.events[0].creative_id = CreativeId::parse("other").expect("id")),
        ),
        (
            "size",
            Box::new(|batch| batch.events[0].size = SlotSize::new(250, 300).expect("size")),
        ),
        (
            "bucket",
            Box::new(|batch| batch.events[1].time_bucket = TimeBucket(1)),
        ),
        (
            "nonce",
            Box::new(|batch| batch.events[1].nonce = Nonce([0; 16])),
        ),
        ("order", Box::new(|batch| batch.events.swap(0, 1))),
        ("dropped event", Box::new(|batch| drop(batch.events.pop()))),
        ("signature", Box::new(|batch| batch.signature.0[0] ^= 1)),
    ];
    for (name, mutate) in mutations {
        let mut tampered = signed.clone();
        mutate(&mut tampered);
        assert_eq!(
            tampered.verify(&public_key),
            Err(ProtocolError::BadSignature),
            "{name}"
        );
    }
    assert_eq!(
        signed.verify(&PublicKey::of(&signing_key(2))),
        Err(ProtocolError::BadSignature)
    );
}

#[test]
fn batch_shape_is_enforced_on_both_sides() {
    let key = signing_key(1);
    assert_eq!(
        batch(1, vec![]).sign(&key),
        Err(ProtocolError::BatchSize { count: 0 })
    );
    let too_many: Vec<_> = (0..=EVENTS_PER_BATCH_MAX)
        .map(|index| ImpressionEvent {
            event_id: EventId(Uuid::from_u128(u128::try_from(index).expect("small"))),
            ..event(0)
        })
        .collect();
    assert_eq!(
        batch(1, too_many).sign(&key),
        Err(ProtocolError::BatchSize {
            count: EVENTS_PER_BATCH_MAX + 1
        })
    );
    assert_eq!(
        batch(1, vec![event(1), event(1)]).sign(&key),
        Err(ProtocolError::DuplicateEventInBatch)
    );

    // A server must not trust shape checks it did not run itself.
    let mut signed = batch(1, vec![event(1)]).sign(&key).expect("sign");
    signed.events.push(event(1));
    assert_eq!(
        signed.verify(&PublicKey::of(&key)),
        Err(ProtocolError::DuplicateEventInBatch)
    );
}

#[test]
fn hostile_json_is_rejected() {
    let key = signing_key(1);
    let json =
        serde_json::to_value(batch(1, vec![event(1)]).sign(&key).expect("sign")).expect("json");
    let mut with_url = json.clone();
    with_url["events"][0]["page_url"] = serde_json::json!("https://news.example/article");
    assert!(
        serde_json::from_value::<ImpressionBatch>(with_url).is_err(),
        "unknown fields are refused"
    );
    let mut bad_nonce = json.clone();
    bad_nonce["events"][0]["nonce"] = serde_json::json!("AAAA");
    assert!(serde_json::from_value::<ImpressionBatch>(bad_nonce).is_err());
    let mut bad_signature = json;
    bad_signature["signature"] = serde_json::json!("not base64!");
    assert!(serde_json::from_value::<ImpressionBatch>(bad_signature).is_err());
}

#[test]
fn canonical_bytes_have_the_documented_layout() {
    let bytes = batch(0x0102, vec![event(3)]).canonical_bytes();
    let mut expected = Vec::new();
    expected.extend_from_slice(&24u32.to_be_bytes());
    expected.extend_from_slice(b"megabox-impression-batch");
    expected.push(CANONICAL_VERSION);
    expected.extend_from_slice(&[7; 16]);
    expected.extend_from_slice(&0x0102u64.to_be_bytes());
    expected.extend_from_slice(&1u32.to_be_bytes());
    expected.extend_from_slice(&[3; 16]);
    expected.extend_from_slice(&14u32.to_be_bytes());
    expected.extend_from_slice(b"spring-sale_01");
    expected.extend_from_slice(&300u16.to_be_bytes());
    expected.extend_from_slice(&250u16.to_be_bytes());
    expected.extend_from_slice(&493_000u64.to_be_bytes());
    expected.extend_from_slice(&[4; 16]);
    assert_eq!(bytes, expected);
}

#[test]
fn response_settles_accepted_and_rejected_events() {
    let json = serde_json::json!({
        "accepted": [Uuid::from_bytes([1; 16])],
        "rejected": [{"event_id": Uuid::from_bytes([2; 16]), "reason": "cap_exceeded"}],
    });
    let response: BatchResponse = serde_json::from_value(json).expect("parse");
    let settled: Vec<_> = response.settled_event_ids().collect();
    assert_eq!(
        settled,
        vec![
            EventId(Uuid::from_bytes([1; 16])),
            EventId(Uuid::from_bytes([2; 16]))
        ]
    );
    assert_eq!(response.rejected[0].reason, RejectionReason::CapExceeded);
}

#[test]
fn time_buckets_are_hours() {
    assert_eq!(TimeBucket::containing(3599), TimeBucket(0));
    assert_eq!(TimeBucket::containing(3600), TimeBucket(1));
    assert_eq!(TimeBucket(2).start_unix_seconds(), 7200);
}

fn arbitrary_event() -> impl Strategy<Value = ImpressionEvent> {
    (
        any::<u128>(),
        "[a-z0-9_-]{1,64}",
        1..=SLOT_EDGE_PIXELS_MAX,
        1..=SLOT_EDGE_PIXELS_MAX,
        any::<u64>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(id, creative, width, height, bucket, nonce)| ImpressionEvent {
                event_id: EventId(Uuid::from_u128(id)),
                creative_id: CreativeId::parse(&creative).expect("strategy makes valid ids"),
                size: SlotSize::new(width, height).expect("strategy makes valid sizes"),
                time_bucket: TimeBucket(bucket),
                nonce: Nonce(nonce),
            },
        )
}

proptest! {
    /// Different batches never share canonical bytes (length prefixes make the encoding injective).
    #[test]
    fn canonical_bytes_are_injective(
        first in proptest::collection::vec(arbitrary_event(), 0..4),
        second in proptest::collection::vec(arbitrary_event(), 0..4),
        first_sequence in any::<u64>(),
        second_sequence in any::<u64>(),
    ) {
        let first_batch = batch(first_sequence, first);
        let second_batch = batch(second_sequence, second);
        prop_assert_eq!(
            first_batch.canonical_bytes() == second_batch.canonical_bytes(),
            first_batch == second_batch
        );
    }

    /// Whatever the events, JSON round-trips and the signature verifies.
    #[test]
    fn json_round_trip_keeps_signature_valid(events in proptest::collection::vec(arbitrary_event(), 1..6), sequence in any::<u64>()) {
        let unique: std::collections::HashSet<_> = events.iter().map(|event| event.event_id).collect();
        prop_assume!(unique.len() == events.len());
        let key = signing_key(9);
        let signed = batch(sequence, events).sign(&key).expect("sign");
        let parsed: ImpressionBatch = serde_json::from_str(&serde_json::to_string(&signed).expect("json")).expect("parse");
        prop_assert_eq!(parsed.verify(&PublicKey::of(&key)), Ok(()));
    }
}
