//! Rewrite tests: which markup counts as a slot, what replaces it, and byte-identical passthrough
//! whenever the rewrite does not happen.

use super::*;
use crate::filters::tests::small_engine;
use crate::slots::InstallSecret;
use crate::slots::{SlotChoiceSettings, SlotChooser};

const ORIGIN: &str = "http://127.0.0.1:8899";

fn chooser(swap_percent: u8) -> SlotChooser {
    SlotChooser::new(
        InstallSecret([4; 32]),
        SlotChoiceSettings {
            swap_percent,
            swaps_per_day_max: 30,
        },
    )
}

/// Rewrites `html` with every eligible slot a candidate (unless `swap_percent` says otherwise).
fn check(
    html: &str,
    swap_percent: u8,
    limits: RewriteLimits,
) -> Result<(String, SwappedSlot), Unchanged> {
    let filters = small_engine();
    let chooser = chooser(swap_percent);
    let mut issue = |_size: SlotSize| Nonce([5; 16]);
    let page = PageRewrite {
        page_url: "https://paper.test/article",
        filters: &filters,
        choice: chooser.page("https://paper.test/article", 0),
        creative_origin: CreativeOrigin { base_url: ORIGIN },
        issue_nonce: &mut issue,
        limits,
        started: Instant::now(),
    };
    rewrite_page(html.as_bytes(), page)
        .map(|(bytes, slot)| (String::from_utf8(bytes).expect("utf-8"), slot))
}

#[test]
fn known_ad_markup_is_swapped() {
    let cases = [
        r#"<div id="div-gpt-ad-123" style="width: 300px; height: 250px"><script>googletag.display("x")</script></div>"#,
        r#"<ins class="adsbygoogle" style="display:inline-block;width:300px;height:250px" data-ad-client="ca-pub-1"></ins>"#,
        r#"<iframe src="https://ads.example/frame.html" width="300" height="250"></iframe>"#,
        r#"<div class="ad-banner" width="300" height="250">ad</div>"#,
        r#"<aside id="sidebar-ad" style="width:300px;height:250px"></aside>"#,
        r#"<div class="sponsored-box other" style="height:250px;width:300px"></div>"#,
        r#"<aside class="ad-banner" style="width:728px;height:90px"></aside>"#,
    ];
    for slot in cases {
        let html = format!("<html><body><p>before</p>{slot}<p>after</p></body></html>");
        let (output, swapped) = check(&html, 100, RewriteLimits::default())
            .unwrap_or_else(|error| panic!("{slot}: {error}"));
        assert!(
            SELLABLE_SLOT_SIZES
                .contains(&(swapped.size.width_pixels(), swapped.size.height_pixels()))
        );
        assert!(output.contains(r#"title="Megabox ad""#), "{output}");
        assert!(
            output
                .contains(r#"sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox""#)
        );
        let frame = format!(
            "http://127.0.0.1:8899/megabox/frame?nonce=BQUFBQUFBQUFBQUFBQUFBQ&amp;size={}",
            swapped.size
        );
        assert!(output.contains(&frame), "{output}");
        assert!(
            !output.contains("ads.example")
                && !output.contains("adsbygoogle")
                && !output.contains("googletag"),
            "{output}"
        );
        assert!(
            output.starts_with("<html><body><p>before</p>")
                && output.ends_with("<p>after</p></body></html>")
        );
    }
}

#[test]
fn ineligible_markup_passes_through() {
    let cases = [
        // No size, unsellable size, not an ad, a harmless iframe.
        r#"<div id="div-gpt-ad-1"></div>"#,
        r#"<div id="div-gpt-ad-1" style="width:301px;height:250px"></div>"#,
        r#"<div class="content" style="width:300px;height:250px"></div>"#,
        r#"<iframe src="https://video.test/embed" width="300" height="250"></iframe>"#,
        r#"<div class="ad-banners" style="width:300px;height:250px"></div>"#,
        r#"<div id="div-gpt-ad-1" style="width:300px" height="250px;"></div>"#,
    ];
    for slot in cases {
        let html = format!("<html><body>{slot}</body></html>");
        assert_eq!(
            check(&html, 100, RewriteLimits::default()).map(|_| ()),
            Err(Unchanged::NoSwap),
            "{slot}"
        );
    }
}

#[test]
fn at_most_one_slot_per_page_is_swapped() {
    let slot = |index: usize| {
        format!(r#"<div id="div-gpt-ad-{index}" style="width:728px;height:90px"></div>"#)
    };
    let html: String = (0..20).map(slot).collect();
    let (output, _) = check(&html, 100, RewriteLimits::default()).expect("swapped");
    assert_eq!(output.matches("data-megabox-ad").count(), 1);
    assert_eq!(output.matches("div-gpt-ad-").count(), 19);
}

#[test]
fn no_swap_when_the_choice_declines() {
    let html = r#"<div id="div-gpt-ad-1" style="width:300px;height:250px"></div>"#;
    assert_eq!(
        check(html, 0, RewriteLimits::default()).map(|_| ()),
        Err(Unchanged::NoSwap)
    );
}

#[test]
fn strict_policies_in_meta_leave_the_page_alone() {
    let slot = r#"<div id="div-gpt-ad-1" style="width:300px;height:250px"></div>"#;
    let strict = format!(
        r#"<head><meta http-equiv="Content-Security-Policy" content="default-src 'self'"></head>{slot}"#
    );
    assert_eq!(
        check(&strict, 100, RewriteLimits::default()).map(|_| ()),
        Err(Unchanged::ContentSecurityPolicy)
    );
    let harmless = format!(
        r#"<head><meta http-equiv="content-security-policy" content="frame-ancestors 'none'"></head>{slot}"#
    );
    assert!(check(&harmless, 100, RewriteLimits::default()).is_ok());
}

#[test]
fn policy_directives_table() {
    let cases = [
        ("default-src 'self'", true),
        ("img-src *; frame-src https:", true),
        ("script-src 'nonce-abc'", true),
        ("upgrade-insecure-requests", true),
        ("frame-ancestors 'self'", false),
        ("img-src https:; report-uri /csp", false),
        ("", false),
    ];
    for (policy, blocks) in cases {
        assert_eq!(policy_blocks_creative(policy), blocks, "{policy}");
    }
}

#[test]
fn limits_refuse_rather_than_truncate() {
    let slot = r#"<div id="div-gpt-ad-1" style="width:300px;height:250px"></div>"#;
    let small = RewriteLimits {
        html_bytes_max: 16,
        ..RewriteLimits::default()
    };
    assert_eq!(
        check(slot, 100, small).map(|_| ()),
        Err(Unchanged::TooLarge)
    );
    let instant = RewriteLimits {
        duration_max: Duration::ZERO,
        ..RewriteLimits::default()
    };
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(
        check(slot, 100, instant).map(|_| ()),
        Err(Unchanged::TimedOut)
    );
    // A start tag longer than the parser's memory budget must fail, not grow without bound.
    let tight = RewriteLimits {
        parser_memory_bytes_max: 2048,
        ..RewriteLimits::default()
    };
    let huge_attribute = format!(
        r#"<div data-x="{}" id="div-gpt-ad-1" style="width:300px;height:250px"></div>"#,
        "a".repeat(100_000)
    );
    assert!(matches!(
        check(&huge_attribute, 100, tight),
        Err(Unchanged::Rewriter(_))
    ));
}

#[test]
fn hostile_markup_never_panics() {
    let cases = [
        "",
        "<",
        "<div id=\"div-gpt-ad-1\" style=\"width:300px;height:250px\"",
        "<ins class=adsbygoogle style='width:300px;height:250px'>",
        "<iframe src=\"javascript:alert(1)\" width=300 height=250></iframe>",
        "\u{0}\u{fffd}<div>\u{1F600}</div>",
        "<div id=\"div-gpt-ad-1\" style=\"width:99999999999px;height:250px\"></div>",
    ];
    for html in cases {
        let _ = check(html, 100, RewriteLimits::default());
    }
}
