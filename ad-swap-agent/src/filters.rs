//! The filter engine: Brave's `adblock` crate over EasyList-style lists, used only to *recognise*
//! ads (requests and page elements), never to block anything on the user's behalf.
//!
//! Parsing EasyList takes about a second, so the built engine is cached on disk in adblock's
//! serialized form, keyed by a SHA-256 of the list files: a changed list rebuilds the cache.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use adblock::Engine;
use adblock::lists::{FilterSet, ParseOptions};
use adblock::request::Request;
use sha2::{Digest as _, Sha256};

/// Largest filter-list file accepted; EasyList is about 2 MB.
pub const FILTER_LIST_BYTES_MAX: u64 = 32 * 1024 * 1024;

const CACHE_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {FILTER_LIST_BYTES_MAX} bytes")]
    TooLarge { path: PathBuf },
    #[error("no filter list given")]
    NoLists,
}

/// Resources type of a network request, in adblock's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    Document,
    Subdocument,
    Script,
    Image,
    Other,
}

impl RequestKind {
    fn as_adblock(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::Subdocument => "sub_frame",
            Self::Script => "script",
            Self::Image => "image",
            Self::Other => "other",
        }
    }
}

/// Cosmetic rules that apply to one page.
pub struct PageCosmetics {
    /// The host's own hiding selectors (arbitrary CSS), sorted.
    pub hide_selectors: Vec<String>,
    /// Classes and ids named by the host's own `.class` / `#id` rules. Only these simple forms
    /// are used: checking them costs a hash lookup, while handing arbitrary CSS to lol_html
    /// slowed every page down several times over (see the benchmark).
    host_classes: HashSet<String>,
    host_ids: HashSet<String>,
    exceptions: HashSet<String>,
    generic_hide_disabled: bool,
}

/// The loaded engine.
pub struct FilterEngine {
    engine: Engine,
    /// Hiding selectors that adblock returns for every host (EasyList's complex generic rules);
    /// subtracted per page so only the host's own rules become rewriter selectors.
    everywhere_selectors: HashSet<String>,
}

/// A host no list can name, to learn which selectors apply everywhere.
const NEUTRAL_PAGE_URL: &str = "https://megabox-agent.invalid/";

impl FilterEngine {
    /// Builds the engine from list text (tests and benchmarks).
    pub fn from_list_text(text: &str) -> Self {
        let mut filter_set = FilterSet::new(false);
        filter_set.add_filter_list(text.to_owned(), ParseOptions::default());
        Self::with_engine(Engine::new_with_filter_set(filter_set))
    }

    fn with_engine(engine: Engine) -> Self {
        let everywhere_selectors = engine
            .url_cosmetic_resources(NEUTRAL_PAGE_URL)
            .hide_selectors;
        Self {
            engine,
            everywhere_selectors,
        }
    }

    /// Loads the lists, reusing `cache_path` when it was built from the same bytes.
    pub fn load(lists: &[PathBuf], cache_path: &Path) -> Result<Self, FilterError> {
        if lists.is_empty() {
            return Err(FilterError::NoLists);
        }
        let mut texts = Vec::with_capacity(lists.len());
        let mut hasher = Sha256::new();
        for path in lists {
            let io = |source| FilterError::Io {
                path: path.clone(),
                source,
            };
            if std::fs::metadata(path).map_err(io)?.len() > FILTER_LIST_BYTES_MAX {
                return Err(FilterError::TooLarge { path: path.clone() });
            }
            let text = std::fs::read_to_string(path).map_err(io)?;
            hasher.update(u64::try_from(text.len()).unwrap_or(u64::MAX).to_be_bytes());
            hasher.update(text.as_bytes());
            texts.push(text);
        }
        let key = hasher.finalize();
        if let Ok(cached) = std::fs::read(cache_path)
            && cached.len() > CACHE_KEY_BYTES
            && cached[..CACHE_KEY_BYTES] == key[..]
        {
            let mut engine = Engine::default();
            if engine.deserialize(&cached[CACHE_KEY_BYTES..]).is_ok() {
                return Ok(Self::with_engine(engine));
            }
            tracing::warn!(path = %cache_path.display(), "filter cache unreadable; rebuilding");
        }
        let mut filter_set = FilterSet::new(false);
        for text in texts {
            filter_set.add_filter_list(text, ParseOptions::default());
        }
        let engine = Engine::new_with_filter_set(filter_set);
        let mut cache = key.to_vec();
        cache.extend_from_slice(&engine.serialize());
        // A cache that cannot be written only costs start-up time next run.
        if let Err(error) = std::fs::write(cache_path, cache) {
            tracing::warn!(path = %cache_path.display(), %error, "could not write the filter cache");
        }
        Ok(Self::with_engine(engine))
    }

    /// True when the lists classify this request as an ad or tracker.
    pub fn is_ad_request(&self, url: &str, source_url: &str, kind: RequestKind) -> bool {
        self.is_ad_request_typed(url, source_url, kind.as_adblock())
    }

    /// As [`Self::is_ad_request`] with adblock's own type names (the benchmark replays recorded
    /// requests that carry them).
    pub fn is_ad_request_typed(&self, url: &str, source_url: &str, request_type: &str) -> bool {
        match Request::new(url, source_url, request_type, "GET") {
            Ok(request) => self.engine.check_network_request(&request).should_block(),
            Err(_) => false,
        }
    }

    /// The cosmetic rules for `page_url`: the host's own hiding selectors and the exceptions
    /// that switch generic rules off there.
    pub fn page_cosmetics(&self, page_url: &str) -> PageCosmetics {
        let resources = self.engine.url_cosmetic_resources(page_url);
        let mut hide_selectors: Vec<String> = resources
            .hide_selectors
            .into_iter()
            .filter(|selector| !self.everywhere_selectors.contains(selector))
            .collect();
        hide_selectors.sort();
        let simple_names = |prefix: char| -> HashSet<String> {
            hide_selectors
                .iter()
                .filter_map(|selector| selector.strip_prefix(prefix))
                .filter(|name| {
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|byte| byte.is_ascii_alphanumeric() || b"-_".contains(&byte))
                })
                .map(str::to_owned)
                .collect()
        };
        PageCosmetics {
            host_classes: simple_names('.'),
            host_ids: simple_names('#'),
            hide_selectors,
            exceptions: resources.exceptions,
            generic_hide_disabled: resources.generichide,
        }
    }

    /// True when a hiding rule of the host (`host##.class`, `host###id`) or a generic one
    /// (`##.class`, `###id`) targets this very element.
    pub fn is_ad_element(
        &self,
        cosmetics: &PageCosmetics,
        classes: &[&str],
        id: Option<&str>,
    ) -> bool {
        if classes
            .iter()
            .any(|class| cosmetics.host_classes.contains(*class))
            || id.is_some_and(|id| cosmetics.host_ids.contains(id))
        {
            return true;
        }
        if cosmetics.generic_hide_disabled || (classes.is_empty() && id.is_none()) {
            return false;
        }
        let selectors = self
            .engine
            .hidden_class_id_selectors(classes, id, &cosmetics.exceptions);
        // Only selectors that name nothing but this element's class or id count: a returned
        // `.ad > span` says nothing about the `.ad` element itself.
        selectors.iter().any(|selector| {
            selector
                .strip_prefix('.')
                .is_some_and(|class| classes.contains(&class))
                || selector
                    .strip_prefix('#')
                    .is_some_and(|selector_id| id == Some(selector_id))
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Path of the shared EasyList copy (never copied into the repository).
    pub(crate) fn easylist_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/filters/easylist.txt")
    }

    pub(crate) fn small_engine() -> FilterEngine {
        FilterEngine::from_list_text(
            "||ads.example^\n##.ad-banner\n###sidebar-ad\n##div[data-ad-slot] > span\nnews.test##.sponsored-box\npaper.test##.sponsored-box\n@@||ads.example/allowed^\nnews.test#@#.ad-banner\n",
        )
    }

    #[test]
    fn requests_are_classified() {
        let engine = small_engine();
        let cases = [
            ("https://ads.example/slot.js", RequestKind::Script, true),
            (
                "https://cdn.ads.example/frame.html",
                RequestKind::Subdocument,
                true,
            ),
            (
                "https://ads.example/allowed/x.js",
                RequestKind::Script,
                false,
            ),
            ("https://news.test/article", RequestKind::Document, false),
            ("not a url", RequestKind::Other, false),
        ];
        for (url, kind, expected) in cases {
            assert_eq!(
                engine.is_ad_request(url, "https://paper.test/", kind),
                expected,
                "{url}"
            );
        }
    }

    #[test]
    fn generic_cosmetic_rules_match_exact_classes_and_ids() {
        let engine = small_engine();
        let page = engine.page_cosmetics("https://paper.test/");
        assert!(engine.is_ad_element(&page, &["x", "ad-banner"], None));
        assert!(engine.is_ad_element(&page, &[], Some("sidebar-ad")));
        assert!(!engine.is_ad_element(&page, &["ad-banners"], Some("sidebar")));
        assert!(!engine.is_ad_element(&page, &[], None));
        assert!(
            engine.is_ad_element(&page, &["sponsored-box"], None),
            "the host's own rule"
        );
        assert!(!engine.is_ad_element(
            &engine.page_cosmetics("https://other.test/"),
            &["sponsored-box"],
            None
        ));
        // The exception `news.test#@#.ad-banner` turns the generic rule off there.
        let excepted = engine.page_cosmetics("https://news.test/");
        assert!(!engine.is_ad_element(&excepted, &["ad-banner"], None));
        // Only the host's own rule: the complex generic `div[data-ad-slot] > span` applies
        // everywhere and is left out.
        assert_eq!(excepted.hide_selectors, vec![".sponsored-box".to_owned()]);
    }

    #[test]
    fn engine_is_cached_and_rebuilt_when_the_list_changes() {
        let directory = tempfile::tempdir().expect("tempdir");
        let list = directory.path().join("list.txt");
        let cache = directory.path().join("filters.cache");
        std::fs::write(&list, "||first.example^\n").expect("write");
        let engine = FilterEngine::load(std::slice::from_ref(&list), &cache).expect("load");
        assert!(engine.is_ad_request(
            "https://first.example/a.js",
            "https://p.test/",
            RequestKind::Script
        ));
        assert!(cache.exists());
        let reloaded = FilterEngine::load(std::slice::from_ref(&list), &cache).expect("from cache");
        assert!(reloaded.is_ad_request(
            "https://first.example/a.js",
            "https://p.test/",
            RequestKind::Script
        ));

        std::fs::write(&list, "||second.example^\n").expect("write");
        let rebuilt = FilterEngine::load(std::slice::from_ref(&list), &cache).expect("rebuild");
        assert!(!rebuilt.is_ad_request(
            "https://first.example/a.js",
            "https://p.test/",
            RequestKind::Script
        ));
        assert!(rebuilt.is_ad_request(
            "https://second.example/a.js",
            "https://p.test/",
            RequestKind::Script
        ));

        std::fs::write(
            &cache,
            b"garbage that is long enough to pass the key length check....",
        )
        .expect("write");
        assert!(
            FilterEngine::load(std::slice::from_ref(&list), &cache).is_ok(),
            "a bad cache is rebuilt"
        );
    }

    #[test]
    fn easylist_classifies_the_recorded_requests_like_adblock() {
        #[derive(serde::Deserialize)]
        struct Recorded {
            url: String,
            #[serde(rename = "sourceUrl")]
            source_url: String,
            #[serde(rename = "type")]
            request_type: String,
            filters: Vec<String>,
        }
        let text = std::fs::read_to_string(easylist_path()).expect("shared easylist");
        let engine = FilterEngine::from_list_text(&text);
        let requests_path = easylist_path().with_file_name("requests.json");
        let recorded: Vec<Recorded> =
            serde_json::from_slice(&std::fs::read(requests_path).expect("requests")).expect("json");
        // The recordings name filters from several lists; judge only those whose filters are all
        // EasyList lines: with blocking filters only they are ads, with an exception they are not.
        let lines: HashSet<&str> = text.lines().collect();
        let mut checked = 0;
        for request in recorded
            .iter()
            .filter(|request| !request.filters.is_empty())
        {
            if !request
                .filters
                .iter()
                .all(|filter| lines.contains(filter.as_str()))
            {
                continue;
            }
            let expected = request
                .filters
                .iter()
                .all(|filter| !filter.starts_with("@@"));
            let actual = engine.is_ad_request_typed(
                &request.url,
                &request.source_url,
                &request.request_type,
            );
            assert_eq!(actual, expected, "{} {:?}", request.url, request.filters);
            checked += 1;
        }
        assert!(checked > 250, "only {checked} requests checked");
        assert!(!engine.is_ad_request(
            "https://megabox.test/",
            "https://news.test/",
            RequestKind::Document
        ));
    }
}
