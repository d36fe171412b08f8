//! What the demo catalog holds: its artists and their releases (albums, EPs and singles, fixed
//! and pay-what-you-want prices), each release with the style its music is generated in.

use catalog::pricing::Price;
use catalog::releases::ReleaseKind;
use megabox_domain::Cents;

use megabox_demo_media::audio::{Groove, Style, Timbre};

pub struct DemoArtist {
    pub email: &'static str,
    pub name: &'static str,
    pub bio: &'static str,
}

/// How a demo release is sold, in cents.
#[derive(Debug, Clone, Copy)]
pub enum DemoPrice {
    Fixed(i64),
    PayWhatYouWant { minimum: i64, suggested: i64 },
}

impl DemoPrice {
    pub fn to_price(self) -> Result<Price, catalog::CatalogError> {
        match self {
            DemoPrice::Fixed(cents) => Price::fixed(Cents(cents)),
            DemoPrice::PayWhatYouWant { minimum, suggested } => {
                Price::pay_what_you_want(Cents(minimum), Cents(suggested))
            }
        }
    }
}

pub struct DemoRelease {
    /// An index into [`ARTISTS`].
    pub artist: usize,
    pub title: &'static str,
    pub kind: ReleaseKind,
    pub price: DemoPrice,
    /// What each track costs alone (a single's one track costs what the single does).
    pub track_price: DemoPrice,
    pub style: Style,
    /// The release date, this many days before seeding.
    pub released_days_ago: u32,
    pub credits: &'static str,
    pub tracks: &'static [&'static str],
    /// Genres and moods, as an artist would tag them (browsable at `/tags/{tag}`).
    pub tags: &'static [&'static str],
}

pub const ARTISTS: [DemoArtist; 6] = [
    DemoArtist {
        email: "nova@demo.megabox.test",
        name: "Nova Static",
        bio: "Synth-pop from a harbour town: arpeggios, night buses and neon reflected in puddles.",
    },
    DemoArtist {
        email: "weekends@demo.megabox.test",
        name: "The Long Weekends",
        bio: "A three-piece indie band that only rehearses on Sundays.",
    },
    DemoArtist {
        email: "marrow@demo.megabox.test",
        name: "Marrow & Moss",
        bio: "Folk songs written in a kitchen, recorded in a shed.",
    },
    DemoArtist {
        email: "kilowatt@demo.megabox.test",
        name: "Kilowatt Choir",
        bio: "Warehouse electronics for people who like their kicks on every beat.",
    },
    DemoArtist {
        email: "juniper@demo.megabox.test",
        name: "Juniper Vale",
        bio: "Dream pop and slow-motion ambient, best heard through headphones on a train.",
    },
    DemoArtist {
        email: "dusk@demo.megabox.test",
        name: "Dusk Radio",
        bio: "Lo-fi beats taped off the radio at the end of the day.",
    },
];

/// Listeners who make the demo's history: they buy, play and run the agent. Not printed: the
/// demo listener is the one to sign in as.
pub const FANS: [(&str, &str); 10] = [
    ("avery@fans.demo.megabox.test", "Avery"),
    ("blake@fans.demo.megabox.test", "Blake"),
    ("casey@fans.demo.megabox.test", "Casey"),
    ("devon@fans.demo.megabox.test", "Devon"),
    ("emery@fans.demo.megabox.test", "Emery"),
    ("finley@fans.demo.megabox.test", "Finley"),
    ("harper@fans.demo.megabox.test", "Harper"),
    ("jordan@fans.demo.megabox.test", "Jordan"),
    ("morgan@fans.demo.megabox.test", "Morgan"),
    ("quinn@fans.demo.megabox.test", "Quinn"),
];

pub const RELEASES: [DemoRelease; 12] = [
    DemoRelease {
        artist: 0,
        title: "Harbour Lights",
        kind: ReleaseKind::Album,
        price: DemoPrice::PayWhatYouWant {
            minimum: 500,
            suggested: 800,
        },
        track_price: DemoPrice::Fixed(99),
        style: Style {
            key_semitones: 0,
            minor: true,
            tempo_bpm: 112,
            lead: Timbre::Saw,
            groove: Groove::FourOnTheFloor,
        },
        released_days_ago: 80,
        credits: "Written and produced by Nova Static.",
        tracks: &["Low Tide", "Signal Fires", "Night Ferry", "Breakwater"],
        tags: &["synth-pop", "electronic", "night"],
    },
    DemoRelease {
        artist: 0,
        title: "Neon Rain",
        kind: ReleaseKind::Single,
        price: DemoPrice::Fixed(129),
        track_price: DemoPrice::Fixed(129),
        style: Style {
            key_semitones: 5,
            minor: true,
            tempo_bpm: 118,
            lead: Timbre::Square,
            groove: Groove::FourOnTheFloor,
        },
        released_days_ago: 12,
        credits: "Nova Static.",
        tracks: &["Neon Rain"],
        tags: &["synth-pop", "electronic"],
    },
    DemoRelease {
        artist: 1,
        title: "Sunday Drive",
        kind: ReleaseKind::Single,
        price: DemoPrice::Fixed(129),
        track_price: DemoPrice::Fixed(129),
        style: Style {
            key_semitones: 10,
            minor: false,
            tempo_bpm: 124,
            lead: Timbre::Pluck,
            groove: Groove::Backbeat,
        },
        released_days_ago: 70,
        credits: "The Long Weekends.",
        tracks: &["Sunday Drive"],
        tags: &["indie", "rock", "summer"],
    },
    DemoRelease {
        artist: 1,
        title: "Postcards",
        kind: ReleaseKind::Ep,
        price: DemoPrice::Fixed(400),
        track_price: DemoPrice::Fixed(129),
        style: Style {
            key_semitones: 7,
            minor: false,
            tempo_bpm: 132,
            lead: Timbre::Organ,
            groove: Groove::Backbeat,
        },
        released_days_ago: 30,
        credits: "Recorded live in one afternoon.",
        tracks: &[
            "Wish You Were Here-ish",
            "Seaside Ice Cream",
            "Return Address",
        ],
        tags: &["indie", "rock"],
    },
    DemoRelease {
        artist: 2,
        title: "Field Recordings",
        kind: ReleaseKind::Album,
        price: DemoPrice::Fixed(900),
        track_price: DemoPrice::Fixed(99),
        style: Style {
            key_semitones: 5,
            minor: false,
            tempo_bpm: 92,
            lead: Timbre::Pluck,
            groove: Groove::Sparse,
        },
        released_days_ago: 95,
        credits: "Banjo, guitar and kettle: Marrow & Moss.",
        tracks: &["Hedgerow", "The Kettle Song", "Fox at the Gate", "Low Mist"],
        tags: &["ambient", "folk", "acoustic"],
    },
    DemoRelease {
        artist: 2,
        title: "Lantern Walk",
        kind: ReleaseKind::Single,
        price: DemoPrice::PayWhatYouWant {
            minimum: 0,
            suggested: 100,
        },
        track_price: DemoPrice::PayWhatYouWant {
            minimum: 0,
            suggested: 100,
        },
        style: Style {
            key_semitones: 2,
            minor: true,
            tempo_bpm: 84,
            lead: Timbre::Bell,
            groove: Groove::Sparse,
        },
        released_days_ago: 20,
        credits: "Free to download; pay what you like.",
        tracks: &["Lantern Walk"],
        tags: &["ambient", "folk"],
    },
    DemoRelease {
        artist: 3,
        title: "Pylons",
        kind: ReleaseKind::Ep,
        price: DemoPrice::PayWhatYouWant {
            minimum: 300,
            suggested: 500,
        },
        track_price: DemoPrice::Fixed(99),
        style: Style {
            key_semitones: 8,
            minor: true,
            tempo_bpm: 126,
            lead: Timbre::Square,
            groove: Groove::FourOnTheFloor,
        },
        released_days_ago: 60,
        credits: "Kilowatt Choir.",
        tracks: &["High Voltage Hymn", "Substation", "Grid Frequency"],
        tags: &["electronic", "techno"],
    },
    DemoRelease {
        artist: 3,
        title: "Brownout",
        kind: ReleaseKind::Single,
        price: DemoPrice::Fixed(99),
        track_price: DemoPrice::Fixed(99),
        style: Style {
            key_semitones: 1,
            minor: true,
            tempo_bpm: 130,
            lead: Timbre::Saw,
            groove: Groove::Halftime,
        },
        released_days_ago: 5,
        credits: "Kilowatt Choir.",
        tracks: &["Brownout"],
        tags: &["electronic", "techno", "night"],
    },
    DemoRelease {
        artist: 4,
        title: "Slow Orbit",
        kind: ReleaseKind::Album,
        price: DemoPrice::PayWhatYouWant {
            minimum: 700,
            suggested: 1000,
        },
        track_price: DemoPrice::Fixed(129),
        style: Style {
            key_semitones: 3,
            minor: false,
            tempo_bpm: 76,
            lead: Timbre::Bell,
            groove: Groove::Halftime,
        },
        released_days_ago: 88,
        credits: "Vocals and synths: Juniper Vale.",
        tracks: &["Perigee", "Weightless", "Parallax", "Apogee"],
        tags: &["ambient", "space"],
    },
    DemoRelease {
        artist: 4,
        title: "Lanterns",
        kind: ReleaseKind::Ep,
        price: DemoPrice::Fixed(500),
        track_price: DemoPrice::Fixed(129),
        style: Style {
            key_semitones: 9,
            minor: true,
            tempo_bpm: 88,
            lead: Timbre::Organ,
            groove: Groove::Sparse,
        },
        released_days_ago: 40,
        credits: "Juniper Vale.",
        tracks: &["Paper Moon", "Slow Fireworks", "Blue Hour"],
        tags: &["ambient", "electronic"],
    },
    DemoRelease {
        artist: 5,
        title: "Tape Hiss Sessions",
        kind: ReleaseKind::Ep,
        price: DemoPrice::PayWhatYouWant {
            minimum: 200,
            suggested: 400,
        },
        track_price: DemoPrice::Fixed(99),
        style: Style {
            key_semitones: 6,
            minor: false,
            tempo_bpm: 84,
            lead: Timbre::Pluck,
            groove: Groove::Shuffle,
        },
        released_days_ago: 50,
        credits: "Beats and samples: Dusk Radio.",
        tracks: &["Rewind", "Cassette Summer", "Static Between Stations"],
        tags: &["lo-fi", "hip-hop", "chill"],
    },
    DemoRelease {
        artist: 5,
        title: "Rooftop",
        kind: ReleaseKind::Single,
        price: DemoPrice::Fixed(100),
        track_price: DemoPrice::Fixed(100),
        style: Style {
            key_semitones: 11,
            minor: true,
            tempo_bpm: 80,
            lead: Timbre::Organ,
            groove: Groove::Shuffle,
        },
        released_days_ago: 2,
        credits: "Dusk Radio.",
        tracks: &["Rooftop"],
        tags: &["lo-fi", "chill", "summer"],
    },
];
