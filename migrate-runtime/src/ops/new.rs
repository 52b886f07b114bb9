//! `new`: create a migration folder `<timestamp>_<name>/` with `migration.sql` (and
//! `down.sql`).

use super::error::OpError;
use super::workspace::Workspace;
use crate::model::{DOWN_FILE, NewMigration, UP_FILE, create_migration};
use std::path::PathBuf;

/// What `new` created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewReport {
    /// The folder.
    pub folder: PathBuf,
    /// Its version.
    pub version: String,
    /// Its name.
    pub name: String,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Creates a migration, now (or one second after the newest, if that is not earlier).
pub fn new_migration(ws: &Workspace, new: &NewMigration<'_>) -> Result<NewReport, OpError> {
    let folder =
        create_migration(&ws.dir, new, time::OffsetDateTime::now_utc()).map_err(OpError::Create)?;
    let mut files = vec![folder.join(UP_FILE)];
    if !new.irreversible {
        files.push(folder.join(DOWN_FILE));
    }
    let folder_name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(NewReport {
        version: folder_name.get(..14).unwrap_or_default().to_string(),
        name: new.name.to_string(),
        folder,
        files,
    })
}
