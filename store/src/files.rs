//! Small file helpers shared by the server and the CLI.

use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` readable only by this user (0600), atomically: a temporary file
/// in the same directory is written, synced and renamed over the target.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let directory = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(directory)?;
    let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temporary
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    temporary.write_all(contents)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Minimum length of a generated or configured secret key.
pub const SECRET_KEY_BYTES_MIN: usize = 32;

/// A random secret kept in `path` (0600), created on first use, so that a single server keeps
/// its keys across restarts without configuration.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) if key.len() >= SECRET_KEY_BYTES_MIN => return Ok(key),
        Ok(_) | Err(_) => {}
    }
    let key: [u8; 64] = rand::random();
    write_private_file(path, &key)?;
    Ok(key.to_vec())
}
