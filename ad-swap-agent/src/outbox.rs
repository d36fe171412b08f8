//! The durable impression outbox: an append-only, fsync'd journal of JSON lines.
//!
//! Records: `event` (a viewable impression), `sealed` (a signed batch, stored *before* it is
//! sent, so a resend after a crash reuses the same sequence and the same bytes) and `settled`
//! (the server answered for that batch; its events are gone). Replaying the journal gives the
//! pending events, the sealed-but-unsettled batches and the next sequence number. A torn last
//! line (crash during a write) is ignored. The journal is compacted once everything is settled.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use megabox_protocol::{
    DeviceId, EVENTS_PER_BATCH_MAX, EventId, ImpressionBatch, ImpressionEvent, ProtocolError,
    UnsignedBatch,
};
use serde::{Deserialize, Serialize};

/// Most unsent events kept; beyond it new events are dropped (the server caps far lower anyway).
pub const PENDING_EVENTS_MAX: usize = 10_000;

/// Journal lines beyond which a fully settled journal is rewritten.
const COMPACT_AFTER_RECORDS: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("signing the batch: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("the outbox is full ({PENDING_EVENTS_MAX} events)")]
    Full,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Event {
        event: ImpressionEvent,
    },
    Sealed {
        batch: ImpressionBatch,
    },
    Settled {
        sequence: u64,
    },
    /// Written by compaction so the sequence never goes back.
    NextSequence {
        sequence: u64,
    },
}

/// The outbox over one journal file.
pub struct Outbox {
    path: PathBuf,
    file: File,
    pending: Vec<ImpressionEvent>,
    sealed: Vec<ImpressionBatch>,
    next_sequence: u64,
    records: usize,
}

impl Outbox {
    /// Opens (or creates, 0600) the journal and replays it.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let io = |source| OutboxError::Io {
            path: path.to_owned(),
            source,
        };
        let file = crate::install::open_private_append(path).map_err(io)?;
        let mut outbox = Self {
            path: path.to_owned(),
            file,
            pending: Vec::new(),
            sealed: Vec::new(),
            next_sequence: 1,
            records: 0,
        };
        let lines: Vec<String> = BufReader::new(File::open(path).map_err(io)?)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(io)?;
        let last_index = lines.len().saturating_sub(1);
        for (index, line) in lines.iter().enumerate() {
            match serde_json::from_str::<Record>(line) {
                Ok(record) => outbox.apply(record),
                // Only the very last line can be torn by a crash; anything earlier is damage.
                Err(_) if index == last_index => {
                    tracing::warn!(path = %path.display(), "ignoring a torn last journal line")
                }
                Err(error) => {
                    return Err(OutboxError::Corrupt {
                        path: path.to_owned(),
                        line: index + 1,
                        message: error.to_string(),
                    });
                }
            }
        }
        outbox.records = lines.len();
        if lines
            .last()
            .is_some_and(|line| serde_json::from_str::<Record>(line).is_err())
        {
            // Rewrite without the torn line so later appends start on a clean line.
            outbox.compact()?;
        }
        Ok(outbox)
    }

    fn apply(&mut self, record: Record) {
        match record {
            Record::Event { event } => self.pending.push(event),
            Record::Sealed { batch } => {
                self.pending.retain(|event| {
                    !batch
                        .events
                        .iter()
                        .any(|sealed| sealed.event_id == event.event_id)
                });
                self.next_sequence = self.next_sequence.max(batch.sequence.saturating_add(1));
                self.sealed.push(batch);
            }
            Record::Settled { sequence } => self.sealed.retain(|batch| batch.sequence != sequence),
            Record::NextSequence { sequence } => {
                self.next_sequence = self.next_sequence.max(sequence)
            }
        }
    }

    fn append(&mut self, record: &Record) -> Result<(), OutboxError> {
        let io = |source| OutboxError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(record).map_err(|error| OutboxError::Corrupt {
            path: self.path.clone(),
            line: self.records + 1,
            message: error.to_string(),
        })?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.records += 1;
        Ok(())
    }

    /// Durably records one impression.
    pub fn record_event(&mut self, event: ImpressionEvent) -> Result<(), OutboxError> {
        if self.pending.len() >= PENDING_EVENTS_MAX {
            return Err(OutboxError::Full);
        }
        self.append(&Record::Event {
            event: event.clone(),
        })?;
        self.pending.push(event);
        Ok(())
    }

    /// The batch to send next: the oldest sealed batch, or a newly sealed one from pending
    /// events (signed and journaled before it is returned), or nothing.
    pub fn next_batch(
        &mut self,
        device_id: DeviceId,
        key: &SigningKey,
    ) -> Result<Option<ImpressionBatch>, OutboxError> {
        if let Some(batch) = self.sealed.first() {
            return Ok(Some(batch.clone()));
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let count = self.pending.len().min(EVENTS_PER_BATCH_MAX);
        let events = self.pending[..count].to_vec();
        let batch = UnsignedBatch {
            device_id,
            sequence: self.next_sequence,
            events,
        }
        .sign(key)?;
        self.append(&Record::Sealed {
            batch: batch.clone(),
        })?;
        self.apply(Record::Sealed {
            batch: batch.clone(),
        });
        Ok(Some(batch))
    }

    /// The server answered for `sequence`: its events are settled and leave the outbox.
    pub fn settle(&mut self, sequence: u64) -> Result<(), OutboxError> {
        self.append(&Record::Settled { sequence })?;
        self.apply(Record::Settled { sequence });
        if self.sealed.is_empty() && self.pending.is_empty() && self.records > COMPACT_AFTER_RECORDS
        {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the journal with only what is still open (temporary file, fsync, rename).
    fn compact(&mut self) -> Result<(), OutboxError> {
        let io = |source| OutboxError::Io {
            path: self.path.clone(),
            source,
        };
        let mut records = vec![Record::NextSequence {
            sequence: self.next_sequence,
        }];
        records.extend(
            self.sealed
                .iter()
                .cloned()
                .map(|batch| Record::Sealed { batch }),
        );
        records.extend(
            self.pending
                .iter()
                .cloned()
                .map(|event| Record::Event { event }),
        );
        let mut text = Vec::new();
        for record in &records {
            serde_json::to_writer(&mut text, record).map_err(|error| OutboxError::Corrupt {
                path: self.path.clone(),
                line: 0,
                message: error.to_string(),
            })?;
            text.push(b'\n');
        }
        let temporary = self.path.with_extension("journal.tmp");
        {
            let mut file = crate::install::open_private_append(&temporary).map_err(io)?;
            file.set_len(0).map_err(io)?;
            file.write_all(&text).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&temporary, &self.path).map_err(io)?;
        self.file = crate::install::open_private_append(&self.path).map_err(io)?;
        self.records = records.len();
        Ok(())
    }

    pub fn pending_events(&self) -> usize {
        self.pending.len()
            + self
                .sealed
                .iter()
                .map(|batch| batch.events.len())
                .sum::<usize>()
    }

    /// Ids of every event still waiting (tests and status).
    pub fn waiting_event_ids(&self) -> Vec<EventId> {
        let sealed = self.sealed.iter().flat_map(|batch| batch.events.iter());
        sealed
            .chain(self.pending.iter())
            .map(|event| event.event_id)
            .collect()
    }
}

/// Exponential backoff between failed sends: 1 s, 2 s, 4 s, … capped at 10 minutes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MAX: Duration = Duration::from_secs(600);

    pub fn failed(self) -> Self {
        Self {
            failures: self.failures.saturating_add(1),
        }
    }

    pub fn succeeded(self) -> Self {
        Self::default()
    }

    /// How long to wait before the next attempt.
    pub fn delay(self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(self.failures - 1).unwrap_or(u32::MAX);
        Self::FIRST.saturating_mul(factor).min(Self::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use megabox_protocol::{CreativeId, Nonce, PublicKey, SlotSize, TimeBucket};
    use uuid::Uuid;

    fn event(index: u8) -> ImpressionEvent {
        ImpressionEvent {
            event_id: EventId(Uuid::from_bytes([index; 16])),
            creative_id: CreativeId::parse("creative-1").expect("id"),
            size: SlotSize::new(300, 250).expect("size"),
            time_bucket: TimeBucket(10),
            nonce: Nonce([index; 16]),
        }
    }

    fn device() -> DeviceId {
        DeviceId(Uuid::from_bytes([1; 16]))
    }

    #[test]
    fn events_survive_a_restart_and_resends_are_byte_identical() {
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join("outbox.journal");
        let key = SigningKey::from_bytes(&[3; 32]);
        let first_batch = {
            let mut outbox = Outbox::open(&path).expect("open");
            outbox.record_event(event(1)).expect("record");
            outbox.record_event(event(2)).expect("record");
            outbox
                .next_batch(device(), &key)
                .expect("seal")
                .expect("batch")
        };
        // "Crash": reopen; the sealed batch comes back unchanged.
        let mut outbox = Outbox::open(&path).expect("reopen");
        let resent = outbox
            .next_batch(device(), &key)
            .expect("seal")
            .expect("batch");
        assert_eq!(
            serde_json::to_vec(&resent).expect("json"),
            serde_json::to_vec(&first_batch).expect("json")
        );
        assert_eq!(resent.sequence, 1);
        assert_eq!(resent.verify(&PublicKey::of(&key)), Ok(()));

        outbox.record_event(event(3)).expect("record");
        outbox.settle(1).expect("settle");
        let second = outbox
            .next_batch(device(), &key)
            .expect("seal")
            .expect("batch");
        assert_eq!(second.sequence, 2, "sequence increases");
        assert_eq!(second.events, vec![event(3)]);
        outbox.settle(2).expect("settle");
        assert_eq!(outbox.next_batch(device(), &key).expect("none"), None);

        let reopened = Outbox::open(&path).expect("reopen");
        assert_eq!(reopened.pending_events(), 0);
        assert_eq!(reopened.next_sequence, 3);
    }

    #[test]
    fn a_torn_last_line_is_dropped_but_earlier_damage_is_an_error() {
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join("outbox.journal");
        {
            let mut outbox = Outbox::open(&path).expect("open");
            outbox.record_event(event(1)).expect("record");
        }
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.extend_from_slice(b"{\"record\":\"event\",\"ev");
        std::fs::write(&path, &bytes).expect("write");
        let mut outbox = Outbox::open(&path).expect("torn tail tolerated");
        assert_eq!(outbox.waiting_event_ids(), vec![event(1).event_id]);
        outbox.record_event(event(2)).expect("append after repair");
        assert_eq!(Outbox::open(&path).expect("reopen").pending_events(), 2);

        std::fs::write(&path, b"garbage\n{\"record\":\"settled\",\"sequence\":1}\n")
            .expect("write");
        assert!(matches!(
            Outbox::open(&path),
            Err(OutboxError::Corrupt { line: 1, .. })
        ));
    }

    #[test]
    fn compaction_keeps_the_sequence_moving_forward() {
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join("outbox.journal");
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut outbox = Outbox::open(&path).expect("open");
        let rounds = COMPACT_AFTER_RECORDS / 3 + 2;
        for round in 0..rounds {
            outbox
                .record_event(event(u8::try_from(round % 200).expect("small")))
                .expect("record");
            let batch = outbox
                .next_batch(device(), &key)
                .expect("seal")
                .expect("batch");
            outbox.settle(batch.sequence).expect("settle");
        }
        assert!(
            outbox.records < COMPACT_AFTER_RECORDS,
            "journal was compacted"
        );
        drop(outbox);
        let mut reopened = Outbox::open(&path).expect("reopen");
        reopened.record_event(event(1)).expect("record");
        let batch = reopened
            .next_batch(device(), &key)
            .expect("seal")
            .expect("batch");
        assert_eq!(batch.sequence, u64::try_from(rounds).expect("small") + 1);
    }

    #[test]
    fn serialized_batches_carry_no_url() {
        let directory = tempfile::tempdir().expect("tempdir");
        let mut outbox = Outbox::open(&directory.path().join("outbox.journal")).expect("open");
        outbox.record_event(event(1)).expect("record");
        let batch = outbox
            .next_batch(device(), &SigningKey::from_bytes(&[3; 32]))
            .expect("seal")
            .expect("batch");
        let json = serde_json::to_string(&batch).expect("json");
        for forbidden in [
            "http", "://", "www.", ".com", "url", "page", "referrer", "host",
        ] {
            assert!(
                !json.to_ascii_lowercase().contains(forbidden),
                "{forbidden} in {json}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.delay(), Duration::ZERO);
        let mut delays = Vec::new();
        for _ in 0..12 {
            backoff = backoff.failed();
            delays.push(backoff.delay().as_secs());
        }
        assert_eq!(
            delays,
            vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
        );
        assert_eq!(backoff.succeeded().delay(), Duration::ZERO);
        let many = (0..100).fold(Backoff::default(), |backoff, _| backoff.failed());
        assert_eq!(many.delay(), Duration::from_secs(600));
    }
}
