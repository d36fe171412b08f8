//! Pairing on both backends: codes are short, unambiguous, one-time, expiring and rate-limited;
//! keys must be real Ed25519 keys and unique; devices are listed and revoked by their owner only.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use megabox_ads::{
    AdsError, AdsSettings, PAIRING_CODE_ALPHABET, PAIRING_CODE_LENGTH, create_pairing_code,
    list_devices, pair_device, revoke_device,
};
use megabox_database::DbConnection;
use megabox_domain::UserId;
use megabox_protocol::{DeviceId, PairingCode, PublicKey};

fn code_for(connection: &mut DbConnection, user: UserId) -> String {
    create_pairing_code(connection, user, now(), &AdsSettings::default())
        .unwrap_or_else(|error| panic!("{error}"))
        .code
}

fn parse(code: &str) -> PairingCode {
    PairingCode::parse(code).unwrap_or_else(|error| panic!("{code}: {error}"))
}

fn key(seed: u8) -> PublicKey {
    PublicKey::of(&SigningKey::from_bytes(&[seed; 32]))
}

#[test]
fn codes_are_short_unambiguous_and_expire_in_ten_minutes() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let issued = create_pairing_code(
            connection,
            UserId::generate(),
            now(),
            &AdsSettings::default(),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(issued.code.len(), PAIRING_CODE_LENGTH);
        assert!(
            issued
                .code
                .bytes()
                .all(|byte| PAIRING_CODE_ALPHABET.contains(&byte)),
            "{}",
            issued.code
        );
        assert_eq!(issued.expires_at, now() + chrono::TimeDelta::minutes(10));
    });
}

#[test]
fn a_code_pairs_exactly_one_device_before_it_expires() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let user = UserId::generate();
        let code = code_for(connection, user);
        // Typed in lower case with a dash for readability: still the same code.
        let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
        let device = pair_device(connection, &parse(&typed), &key(1), now())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(device.user, user);

        let expired_code = code_for(connection, user);
        let unknown_code = "ZZZZZZZZ";
        let cases: Vec<(String, PublicKey, chrono::NaiveDateTime, &str)> = vec![
            (code.clone(), key(2), now(), "used"),
            (
                expired_code.clone(),
                key(3),
                now() + chrono::TimeDelta::minutes(10),
                "expired",
            ),
            (unknown_code.to_owned(), key(4), now(), "unknown"),
        ];
        for (code, public_key, at, expected) in cases {
            let result = pair_device(connection, &parse(&code), &public_key, at);
            let outcome = match result {
                Err(AdsError::PairingCodeUsed) => "used",
                Err(AdsError::PairingCodeExpired) => "expired",
                Err(AdsError::PairingCodeUnknown) => "unknown",
                other => panic!("{:?} {expected}: {other:?}", database.backend),
            };
            assert_eq!(outcome, expected);
        }
        // The expired code was not consumed by the failed attempt, but stays expired.
        assert!(matches!(
            pair_device(
                connection,
                &parse(&expired_code),
                &key(3),
                now() + chrono::TimeDelta::hours(1)
            ),
            Err(AdsError::PairingCodeExpired)
        ));
        assert_eq!(
            list_devices(connection, user)
                .map(|devices| devices.len())
                .ok(),
            Some(1)
        );
    });
}

#[test]
fn keys_must_be_valid_non_weak_and_unique() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let user = UserId::generate();
        let code = code_for(connection, user);
        pair_device(connection, &parse(&code), &key(1), now())
            .unwrap_or_else(|error| panic!("{error}"));
        // The identity point (a small-order, weak key) and bytes that are no curve point.
        // y = 2 has no x on the curve.
        let mut not_a_point = [0_u8; 32];
        not_a_point[0] = 2;
        let mut identity = [0_u8; 32];
        identity[0] = 1;
        let cases = [
            (PublicKey(identity), "invalid"),
            (PublicKey(not_a_point), "invalid"),
            (key(1), "taken"),
        ];
        for (seed, (public_key, expected)) in (10..).zip(cases) {
            let code = code_for(connection, user);
            let outcome = match pair_device(connection, &parse(&code), &public_key, now()) {
                Err(AdsError::InvalidPublicKey) => "invalid",
                Err(AdsError::PublicKeyTaken) => "taken",
                other => panic!("{:?} {public_key:?}: {other:?}", database.backend),
            };
            assert_eq!(outcome, expected, "{public_key:?}");
            // A refused key does not burn the code.
            assert!(
                pair_device(connection, &parse(&code), &key(seed), now()).is_ok(),
                "{public_key:?}"
            );
        }
        assert_eq!(
            list_devices(connection, user)
                .map(|devices| devices.len())
                .ok(),
            Some(4)
        );
    });
}

#[test]
fn codes_are_rate_limited_per_account_per_hour() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let settings = AdsSettings {
            pairing_codes_per_hour_max: 3,
            ..AdsSettings::default()
        };
        let user = UserId::generate();
        for _ in 0..3 {
            create_pairing_code(connection, user, now(), &settings)
                .unwrap_or_else(|error| panic!("{error}"));
        }
        assert!(matches!(
            create_pairing_code(connection, user, now(), &settings),
            Err(AdsError::TooManyPairingCodes)
        ));
        // Another account is not affected, and an hour later this one may ask again.
        assert!(create_pairing_code(connection, UserId::generate(), now(), &settings).is_ok());
        assert!(
            create_pairing_code(
                connection,
                user,
                now() + chrono::TimeDelta::minutes(61),
                &settings
            )
            .is_ok()
        );
    });
}

#[test]
fn only_the_owner_lists_and_revokes_a_device() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let (owner, stranger) = (UserId::generate(), UserId::generate());
        let agent = pair(connection, owner, 1);
        assert!(
            list_devices(connection, stranger)
                .unwrap_or_else(|error| panic!("{error}"))
                .is_empty()
        );
        assert!(matches!(
            revoke_device(connection, stranger, agent.device.id, now()),
            Err(AdsError::NotFound { .. })
        ));
        assert!(matches!(
            revoke_device(connection, owner, DeviceId(uuid::Uuid::now_v7()), now()),
            Err(AdsError::NotFound { .. })
        ));
        let revoked = revoke_device(connection, owner, agent.device.id, now())
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(revoked.revoked_at, Some(now()));
        // Revoking again keeps the first time.
        let later = now() + chrono::TimeDelta::hours(1);
        assert_eq!(
            revoke_device(connection, owner, agent.device.id, later)
                .ok()
                .and_then(|device| device.revoked_at),
            Some(now())
        );
        let listed = list_devices(connection, owner).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            listed
                .iter()
                .map(|device| (device.id, device.revoked_at))
                .collect::<Vec<_>>(),
            vec![(agent.device.id, Some(now()))]
        );
    });
}
