//! The operator's side on both backends: creative images are checked for real, campaigns
//! validated and moved through their statuses, and the offered creatives respect size, status,
//! flight, budget and pacing, weighted by CPM.

mod common;

use common::*;
use diesel::prelude::*;
use megabox_ads::{
    AdsError, AdsSettings, CREATIVE_IMAGE_BYTES_MAX, CampaignStatus, ImageFormat, NewCampaign,
    create_advertiser, create_campaign, creative_image, eligible_creatives, list_campaigns,
    list_creatives, update_campaign_status, validate_creative_image,
};
use megabox_database::DbConnection;
use megabox_domain::Cents;
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn creative_images_must_be_real_pictures_of_the_declared_size() {
    let medium_rectangle = size("300x250");
    let png = png_of(300, 250);
    let mut truncated = png.clone();
    truncated.truncate(png.len() / 2);
    let mut oversized = png.clone();
    oversized.resize(CREATIVE_IMAGE_BYTES_MAX + 1, 0);
    let cases: Vec<(&str, Vec<u8>, &str, Option<ImageFormat>)> = vec![
        ("png", png.clone(), "300x250", Some(ImageFormat::Png)),
        (
            "jpeg",
            encode(300, 250, image::ImageFormat::Jpeg),
            "300x250",
            Some(ImageFormat::Jpeg),
        ),
        (
            "gif",
            encode(728, 90, image::ImageFormat::Gif),
            "728x90",
            Some(ImageFormat::Gif),
        ),
        ("wrong size", png_of(300, 251), "300x250", None),
        ("not an IAB size", png_of(301, 250), "301x250", None),
        ("truncated", truncated, "300x250", None),
        ("over the size limit", oversized, "300x250", None),
        ("empty", Vec::new(), "300x250", None),
        (
            "html",
            b"<html><script>alert(1)</script></html>".to_vec(),
            "300x250",
            None,
        ),
        (
            "png magic then garbage",
            [&png[..16], &[0_u8; 64][..]].concat(),
            "300x250",
            None,
        ),
    ];
    for (name, bytes, declared, expected) in cases {
        let result = validate_creative_image(bytes, size(declared));
        assert_eq!(
            result.as_ref().ok().map(|image| image.format()),
            expected,
            "{name}: {:?}",
            result.err()
        );
    }
    let image =
        validate_creative_image(png, medium_rectangle).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        image.key().starts_with("creatives/") && image.key().ends_with(".png"),
        "{}",
        image.key()
    );
    assert_eq!(image.format().content_type(), "image/png");
}

#[test]
fn campaigns_are_validated_and_ending_is_final() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let advertiser =
            create_advertiser(connection, "Acme", now()).unwrap_or_else(|error| panic!("{error}"));
        let valid = NewCampaign {
            advertiser: advertiser.id,
            name: "Launch".to_owned(),
            cpm: Cents(250),
            budget: Cents(50_000),
            starts_at: now(),
            ends_at: now() + hours(24),
        };
        let invalid = [
            NewCampaign {
                cpm: Cents(0),
                ..valid.clone()
            },
            NewCampaign {
                budget: Cents(-1),
                ..valid.clone()
            },
            NewCampaign {
                ends_at: now(),
                ..valid.clone()
            },
            NewCampaign {
                name: " ".to_owned(),
                ..valid.clone()
            },
            NewCampaign {
                budget: Cents(i64::MAX),
                ..valid.clone()
            },
            NewCampaign {
                cpm: Cents(123_526_519_637_381_072),
                ..valid.clone()
            },
            NewCampaign {
                starts_at: now() - hours(24 * 365 * 1267),
                ..valid.clone()
            },
        ];
        // Refused as the operator's input (a 422), never as an internal overflow.
        for campaign in invalid {
            assert!(
                matches!(
                    create_campaign(connection, &campaign, now()),
                    Err(AdsError::InvalidInput(_))
                ),
                "{campaign:?}"
            );
        }
        let orphan = NewCampaign {
            advertiser: megabox_ads::AdvertiserId(uuid::Uuid::now_v7()),
            ..valid.clone()
        };
        assert!(matches!(
            create_campaign(connection, &orphan, now()),
            Err(AdsError::NotFound { .. })
        ));

        let campaign =
            create_campaign(connection, &valid, now()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (campaign.status, campaign.spent.0),
            (CampaignStatus::Active, 0)
        );
        let steps = [
            (CampaignStatus::Paused, true),
            (CampaignStatus::Active, true),
            (CampaignStatus::Ended, true),
            (CampaignStatus::Active, false),
            (CampaignStatus::Paused, false),
            (CampaignStatus::Ended, true),
        ];
        for (status, allowed) in steps {
            let result = update_campaign_status(connection, campaign.id, status);
            assert_eq!(result.is_ok(), allowed, "to {status}: {result:?}");
        }
        let listed = list_campaigns(connection).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            listed
                .iter()
                .map(|campaign| campaign.status)
                .collect::<Vec<_>>(),
            vec![CampaignStatus::Ended]
        );
    });
}

#[test]
fn creatives_need_an_https_link_and_a_live_campaign() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, 200, 10_000);
        let slot = size("300x250");
        let image = validate_creative_image(png_of(300, 250), slot)
            .unwrap_or_else(|error| panic!("{error}"));
        let base = megabox_ads::NewCreative {
            campaign: fixture.campaign,
            headline: "Hear it".to_owned(),
            body: String::new(),
            link_url: "https://megabox.example/".to_owned(),
        };
        let invalid = [
            megabox_ads::NewCreative {
                link_url: "http://megabox.example/".to_owned(),
                ..base.clone()
            },
            megabox_ads::NewCreative {
                link_url: "javascript:alert(1)".to_owned(),
                ..base.clone()
            },
            megabox_ads::NewCreative {
                headline: String::new(),
                ..base.clone()
            },
            megabox_ads::NewCreative {
                headline: "line\nbreak".to_owned(),
                ..base.clone()
            },
            megabox_ads::NewCreative {
                body: "x".repeat(201),
                ..base.clone()
            },
        ];
        for creative in invalid {
            assert!(
                matches!(
                    megabox_ads::create_creative(connection, &creative, &image, slot, now()),
                    Err(AdsError::InvalidInput(_))
                ),
                "{creative:?}"
            );
        }
        assert!(megabox_ads::create_creative(connection, &base, &image, slot, now()).is_ok());
        set_status(connection, fixture.campaign, CampaignStatus::Ended);
        assert!(megabox_ads::create_creative(connection, &base, &image, slot, now()).is_err());
        assert_eq!(
            list_creatives(connection, fixture.campaign)
                .map(|creatives| creatives.len())
                .ok(),
            Some(2)
        );
    });
}

fn offered(
    connection: &mut DbConnection,
    size_text: &str,
    at: chrono::NaiveDateTime,
    seed: u64,
) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    eligible_creatives(
        connection,
        size(size_text),
        at,
        &mut rng,
        &AdsSettings::default(),
    )
    .unwrap_or_else(|error| panic!("{error}"))
    .into_iter()
    .map(|offer| offer.creative_id.to_string())
    .collect()
}

fn set_spent(
    connection: &mut DbConnection,
    campaign: megabox_ads::CampaignId,
    spent_micro_cents: i64,
) {
    diesel::sql_query("UPDATE ads_campaigns SET spent_micro_cents = $1 WHERE id = $2")
        .bind::<diesel::sql_types::BigInt, _>(spent_micro_cents)
        .bind::<diesel::sql_types::Text, _>(campaign.to_string())
        .execute(connection)
        .unwrap_or_else(|error| panic!("{error}"));
}

#[test]
fn offers_respect_size_status_flight_budget_and_pacing() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        // Flight: two days before now to eight days after, so 20% has elapsed; budget $100.
        let paced = campaign(connection, 200, 10_000);
        let id = paced.creative.id.to_string();
        assert_eq!(offered(connection, "300x250", now(), 1), vec![id.clone()]);
        assert!(
            offered(connection, "728x90", now(), 1).is_empty(),
            "no creative of that size"
        );
        assert!(
            offered(connection, "300x250", now() - hours(49), 1).is_empty(),
            "before the flight"
        );
        assert!(
            offered(connection, "300x250", now() + hours(8 * 24), 1).is_empty(),
            "after the flight"
        );

        // 20% elapsed + 10% margin = $30 may be spent by now.
        let budget_micro = 10_000 * 1_000_000;
        set_spent(connection, paced.campaign, budget_micro * 3 / 10);
        assert_eq!(
            offered(connection, "300x250", now(), 1),
            vec![id.clone()],
            "exactly on pace"
        );
        set_spent(connection, paced.campaign, budget_micro * 3 / 10 + 1);
        assert!(
            offered(connection, "300x250", now(), 1).is_empty(),
            "ahead of pace"
        );
        assert_eq!(
            offered(connection, "300x250", now() + hours(24), 1),
            vec![id.clone()],
            "a day later it is behind again"
        );
        set_spent(connection, paced.campaign, budget_micro - 200_000 + 1);
        assert!(
            offered(connection, "300x250", now() + hours(7 * 24), 1).is_empty(),
            "budget cannot pay one more impression"
        );

        set_spent(connection, paced.campaign, 0);
        set_status(connection, paced.campaign, CampaignStatus::Paused);
        assert!(
            offered(connection, "300x250", now(), 1).is_empty(),
            "paused"
        );
    });
}

#[test]
fn offers_are_weighted_by_cpm() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let cheap = campaign(connection, 100, 1_000_000).creative.id.to_string();
        let dear = campaign(connection, 300, 1_000_000).creative.id.to_string();
        let draws = 400;
        let dear_first = (0..draws)
            .filter(|seed| offered(connection, "300x250", now(), *seed).first() == Some(&dear))
            .count();
        // Expected 3/4 of the draws; a fair coin would give 1/2.
        assert!(
            (260..=340).contains(&dear_first),
            "{:?}: dear first in {dear_first} of {draws}",
            database.backend
        );
        let mut both = offered(connection, "300x250", now(), 7);
        both.sort();
        let mut expected = vec![cheap, dear];
        expected.sort();
        assert_eq!(both, expected, "every eligible creative is offered once");
    });
}

#[test]
fn a_creative_image_is_found_by_its_id_under_the_key_this_crate_made() {
    on_each_backend(|database| {
        let connection = &mut *database.connection();
        let fixture = campaign(connection, 200, 10_000);
        let image = creative_image(connection, &fixture.creative.id)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            (image.key.as_str(), image.content_type.as_str()),
            (fixture.creative.image_key.as_str(), "image/png")
        );
        let unknown = megabox_protocol::CreativeId::parse("no-such-creative")
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(matches!(
            creative_image(connection, &unknown),
            Err(AdsError::NotFound { .. })
        ));
        // A key that is not of this crate's shape is never handed out to be joined to a path.
        diesel::sql_query("UPDATE ads_creatives SET image_key = '../../secret.png' WHERE id = $1")
            .bind::<diesel::sql_types::Text, _>(fixture.creative.id.as_str())
            .execute(connection)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(matches!(
            creative_image(connection, &fixture.creative.id),
            Err(AdsError::CorruptRow(_))
        ));
    });
}
