//! The journal's records: one JSON object per line, tagged by `record` (and a change by `kind`),
//! field names in kebab-case like the plan's.

use super::{Change, ChangeId, DirIdentity};
use crate::installed::Installed;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A point in time, journaled as RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Timestamp(t.with_timezone(&Utc)))
            .map_err(serde::de::Error::custom)
    }
}

/// The first record: which installer, for what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Begin {
    /// Identifies the installer file (the caller passes e.g. its signature digest).
    pub installer_id: String,
    pub product: String,
    pub version: String,
    pub customer: Option<String>,
    pub started_at: Timestamp,
    pub roles: Vec<String>,
    /// The signer's public key the operator trusted for the install (base64): `rollback`
    /// trusts it again to run the rollback scripts of this very installer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key: Option<String>,
    /// What was installed when this install began: rolling it back records that as installed
    /// again (none: nothing was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_before: Option<Box<Installed>>,
    /// `--keep N`: how many installs stay undoable once this one succeeds (none: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<u32>,
    /// Where this install stands among the state directory's: one more than the newest kept
    /// install's, set when its journal begins (whatever the caller gave). Kept installs are
    /// ordered by it, not by their start times: a clock set back between two installs (no time
    /// server on an isolated network) must not reorder them. Journals from before it have 0.
    #[serde(default)]
    pub sequence: u64,
}

impl Begin {
    /// Names this install among the state directory's (its backups' folder, its journal's name
    /// once kept or archived): its start time, to the millisecond, then its sequence, so that
    /// two installs never share a name even when the clock was set back in between.
    pub fn install_key(&self) -> String {
        let time = self.started_at.0.format("%Y%m%dT%H%M%S%.3fZ");
        match self.sequence {
            0 => time.to_string(),
            sequence => format!("{time}-{sequence}"),
        }
    }
}

/// An output variable a step set, as the journal keeps it (never a sensitive one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptOutput {
    pub step: String,
    pub name: String,
    pub value: String,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Succeeded,
    Failed,
    Skipped,
}

/// How an install ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step succeeded; backups are kept until the changes are committed.
    Succeeded,
    /// A step failed and the changes were kept as they are (`--no-rollback`).
    Failed,
    /// Everything changed was undone.
    RolledBack,
    /// Rollback could not undo everything; the journal lists what is left.
    RollbackIncomplete,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "record",
    rename_all = "kebab-case",
    rename_all_fields = "kebab-case"
)]
pub enum Record {
    Begin(Begin),
    StepStarted {
        index: usize,
        name: String,
        at: Timestamp,
    },
    /// The directories a step writes into, journaled before its first change: no change
    /// outside them is made or undone ([`Scope`](super::Scope)).
    Scope {
        roots: Vec<PathBuf>,
    },
    /// A change to the target, journaled before it is made.
    Change(Change),
    /// The identity of a directory created by change `change-id`, journaled once it exists.
    DirIdentified {
        change_id: ChangeId,
        identity: DirIdentity,
    },
    StepFinished {
        index: usize,
        name: String,
        status: StepStatus,
        at: Timestamp,
        /// Scrubbed by the caller: never a value.
        message: Option<String>,
        /// The output variables the step set that may reach the disk (not sensitive, scrubbed
        /// by the caller), for `resume`: journaled with the step's end, one flush for both.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        outputs: Vec<KeptOutput>,
    },
    RollbackStarted {
        at: Timestamp,
        reason: String,
    },
    Undone {
        change_id: ChangeId,
    },
    UndoFailed {
        change_id: ChangeId,
        error: String,
    },
    RollbackFinished {
        at: Timestamp,
        complete: bool,
    },
    /// The changes so far are kept: their backups are being removed and can no longer be undone.
    Committed {
        at: Timestamp,
    },
    End {
        outcome: Outcome,
        at: Timestamp,
    },
    Resumed {
        at: Timestamp,
    },
    /// Step `index`'s rollback script is about to run (on a failure, a cancel or `rollback`).
    RollbackScriptStarted {
        index: usize,
        name: String,
        at: Timestamp,
    },
    /// How step `index`'s rollback script ended: `error` is `None` when it succeeded, else why
    /// not (scrubbed by the caller). One that succeeded is not run again by a later rollback.
    RollbackScriptFinished {
        index: usize,
        name: String,
        at: Timestamp,
        error: Option<String>,
    },
}
