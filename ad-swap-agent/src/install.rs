//! The install's private files under `MEGABOX_AGENT_DIR`: Ed25519 device key, install secret,
//! local CA, pairing record and small mutable state. Every file is written atomically with 0600
//! permissions inside a 0700 directory, because whoever reads the CA key can read the user's
//! traffic to the allow-listed sites.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use megabox_protocol::DeviceId;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

const DEVICE_KEY_FILE: &str = "device.key";
const INSTALL_SECRET_FILE: &str = "install.secret";
const PAIRING_FILE: &str = "pairing.json";
const STATE_FILE: &str = "state.json";
pub const CA_CERTIFICATE_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key.pem";
pub const OUTBOX_FILE: &str = "outbox.journal";
pub const FILTER_CACHE_FILE: &str = "filters.cache";

/// Every file the agent may create, so `uninstall` removes exactly these and nothing else.
const ALL_FILES: &[&str] = &[
    DEVICE_KEY_FILE,
    INSTALL_SECRET_FILE,
    PAIRING_FILE,
    STATE_FILE,
    CA_CERTIFICATE_FILE,
    CA_KEY_FILE,
    OUTBOX_FILE,
    FILTER_CACHE_FILE,
];

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged: {message}")]
    Damaged { path: PathBuf, message: String },
    #[error("this install is not paired yet: run `megabox-agent pair CODE --server URL`")]
    NotPaired,
    #[error("creating the local CA failed: {0}")]
    Certificate(#[from] hudsucker::rcgen::Error),
}

/// The server and device id recorded at pairing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    pub server_url: String,
    pub device_id: DeviceId,
}

/// Small mutable state shared by the CLI (`pause`, `resume`) and the running proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    pub paused: bool,
    /// Swaps made today, for the daily cap.
    pub swaps: crate::slots::DailyCount,
    /// Viewable impressions recorded today.
    pub impressions: crate::slots::DailyCount,
    /// Impressions the server has accepted since install.
    pub impressions_accepted: u64,
}

/// Handle on the agent directory.
#[derive(Clone, Debug)]
pub struct InstallDirectory {
    root: PathBuf,
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

impl InstallDirectory {
    /// Opens (creating with 0700 if needed) the agent directory.
    pub fn open(root: &Path) -> Result<Self, InstallError> {
        let io = |source| InstallError::Io {
            path: root.to_owned(),
            source,
        };
        fs::create_dir_all(root).map_err(io)?;
        restrict_directory(root).map_err(io)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.root.join(file)
    }

    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, InstallError> {
        match fs::read(self.path(file)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(InstallError::Io {
                path: self.path(file),
                source,
            }),
        }
    }

    /// Writes `bytes` to `file` atomically (temporary file, fsync, rename) with 0600 permissions.
    pub fn write_private(&self, file: &str, bytes: &[u8]) -> Result<(), InstallError> {
        let path = self.path(file);
        let temporary = self.path(&format!(".{file}.tmp"));
        let io = |source| InstallError::Io {
            path: path.clone(),
            source,
        };
        let mut handle = private_file_options().open(&temporary).map_err(io)?;
        handle.write_all(bytes).map_err(io)?;
        handle.sync_all().map_err(io)?;
        fs::rename(&temporary, &path).map_err(io)?;
        Ok(())
    }

    fn damaged(&self, file: &str, message: impl Into<String>) -> InstallError {
        InstallError::Damaged {
            path: self.path(file),
            message: message.into(),
        }
    }

    fn read_or_create_32(&self, file: &str) -> Result<[u8; 32], InstallError> {
        if let Some(text) = self.read(file)? {
            let bytes =
                hex::decode(text.trim_ascii()).map_err(|_| self.damaged(file, "not hex"))?;
            return bytes
                .try_into()
                .map_err(|_| self.damaged(file, "expected 32 bytes"));
        }
        let bytes = random_bytes();
        self.write_private(file, hex::encode(bytes).as_bytes())?;
        Ok(bytes)
    }

    /// The install's Ed25519 key, created on first use and never leaving this directory.
    pub fn device_key(&self) -> Result<SigningKey, InstallError> {
        Ok(SigningKey::from_bytes(
            &self.read_or_create_32(DEVICE_KEY_FILE)?,
        ))
    }

    /// The install's slot-choice secret, created on first use.
    pub fn install_secret(&self) -> Result<crate::slots::InstallSecret, InstallError> {
        Ok(crate::slots::InstallSecret(
            self.read_or_create_32(INSTALL_SECRET_FILE)?,
        ))
    }

    fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        file: &str,
    ) -> Result<Option<T>, InstallError> {
        self.read(file)?
            .map(|bytes| {
                serde_json::from_slice(&bytes)
                    .map_err(|error| self.damaged(file, error.to_string()))
            })
            .transpose()
    }

    fn write_json<T: Serialize>(&self, file: &str, value: &T) -> Result<(), InstallError> {
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|error| self.damaged(file, error.to_string()))?;
        self.write_private(file, &bytes)
    }

    pub fn pairing(&self) -> Result<Pairing, InstallError> {
        self.read_json(PAIRING_FILE)?.ok_or(InstallError::NotPaired)
    }

    pub fn save_pairing(&self, pairing: &Pairing) -> Result<(), InstallError> {
        self.write_json(PAIRING_FILE, pairing)
    }

    pub fn state(&self) -> Result<AgentState, InstallError> {
        Ok(self.read_json(STATE_FILE)?.unwrap_or_default())
    }

    pub fn save_state(&self, state: &AgentState) -> Result<(), InstallError> {
        self.write_json(STATE_FILE, state)
    }

    /// The local CA as (certificate PEM, key PEM), if one was created.
    pub fn certificate_authority(&self) -> Result<Option<(String, String)>, InstallError> {
        let certificate = self.read(CA_CERTIFICATE_FILE)?;
        let key = self.read(CA_KEY_FILE)?;
        match (certificate, key) {
            (Some(certificate), Some(key)) => {
                let text = |bytes: Vec<u8>, file| {
                    String::from_utf8(bytes).map_err(|_| self.damaged(file, "not PEM"))
                };
                Ok(Some((
                    text(certificate, CA_CERTIFICATE_FILE)?,
                    text(key, CA_KEY_FILE)?,
                )))
            }
            _ => Ok(None),
        }
    }

    /// Creates the local CA (replacing any older one) limited to `allow_list` by name constraints.
    pub fn create_certificate_authority(
        &self,
        allow_list: &crate::settings::AllowList,
    ) -> Result<String, InstallError> {
        let (certificate_pem, key_pem) = crate::certificate_authority::generate(allow_list)?;
        self.write_private(CA_KEY_FILE, key_pem.as_bytes())?;
        self.write_private(CA_CERTIFICATE_FILE, certificate_pem.as_bytes())?;
        Ok(certificate_pem)
    }

    /// Removes every file the agent created, then the directory if it is empty.
    pub fn remove_everything(&self) -> Result<Vec<PathBuf>, InstallError> {
        let mut removed = Vec::new();
        for file in ALL_FILES {
            let path = self.path(file);
            match fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(InstallError::Io { path, source }),
            }
        }
        // Only an empty directory goes; anything the user put there stays.
        let _ = fs::remove_dir(&self.root);
        Ok(removed)
    }
}

#[cfg(unix)]
fn private_file_options() -> fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    options
}

#[cfg(not(unix))]
fn private_file_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    options
}

#[cfg(unix)]
fn restrict_directory(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict_directory(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Opens `path` for appending with 0600 permissions (the outbox journal).
pub fn open_private_append(path: &Path) -> std::io::Result<fs::File> {
    let mut options = private_file_options();
    options.truncate(false).append(true).read(true);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_and_private() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let directory = InstallDirectory::open(&temporary.path().join("agent")).expect("open");
        let first = directory.device_key().expect("key");
        let second = directory.device_key().expect("key");
        assert_eq!(first.to_bytes(), second.to_bytes());
        assert_ne!(
            directory.install_secret().expect("secret").0,
            first.to_bytes(),
            "independent secrets"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode =
                |path: &Path| fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode(&directory.path(DEVICE_KEY_FILE)), 0o600);
            assert_eq!(mode(&directory.path(INSTALL_SECRET_FILE)), 0o600);
            assert_eq!(mode(&temporary.path().join("agent")), 0o700);
        }
    }

    #[test]
    fn damaged_key_is_an_error_not_a_new_identity() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let directory = InstallDirectory::open(temporary.path()).expect("open");
        directory
            .write_private(DEVICE_KEY_FILE, b"zz")
            .expect("write");
        assert!(matches!(
            directory.device_key(),
            Err(InstallError::Damaged { .. })
        ));
    }

    #[test]
    fn uninstall_removes_only_agent_files() {
        let temporary = tempfile::tempdir().expect("tempdir");
        let directory = InstallDirectory::open(temporary.path()).expect("open");
        directory.device_key().expect("key");
        let allow_list = crate::settings::AllowList::parse("news.test").expect("list");
        directory
            .create_certificate_authority(&allow_list)
            .expect("ca");
        fs::write(temporary.path().join("user-notes.txt"), "mine").expect("write");
        let removed = directory.remove_everything().expect("remove");
        assert_eq!(removed.len(), 3);
        assert!(directory.certificate_authority().expect("read").is_none());
        assert!(temporary.path().join("user-notes.txt").exists());
    }
}
