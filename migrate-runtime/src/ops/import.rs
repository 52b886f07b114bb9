//! `import`: adopt another tool's project, its files, its database history, or both (see
//! [`crate::import`]).

use super::DbOptions;
use super::database;
use super::error::OpError;
use super::event::OpEvent;
use super::workspace::Workspace;
use crate::import::{self, Database, ImportError, ImportOptions, ImportReport};

/// What `import` was asked.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The tool, its directory and table, and whether it is a dry run (`dir` is replaced by
    /// the workspace's migrations directory).
    pub options: ImportOptions,
    /// Adopt the tool's history (implied when no source directory is given).
    pub history: bool,
    /// Database options.
    pub db: DbOptions,
}

/// Imports.
pub fn import(
    ws: &Workspace,
    request: &ImportRequest,
    events: &mut dyn FnMut(OpEvent<'_>),
) -> Result<ImportReport, OpError> {
    let options = ImportOptions {
        dir: ws.dir.clone(),
        ..request.options.clone()
    };
    let result = if request.history || options.source.is_none() {
        let settings = database::db_settings(ws, &request.db, events)?;
        let mut db = database::connect(ws, &settings, events)?;
        let mut engine_events = |e: crate::engine::Event<'_>| events(OpEvent::Engine(e));
        let database = Database {
            engine: &settings.engine,
            client: &mut db.client,
            events: &mut engine_events,
        };
        import::run(&options, Some(database))
    } else {
        import::files(&options)
    };
    result.map_err(|error| match error {
        ImportError::Engine(error) => OpError::Engine {
            error,
            what: "import the history",
            database: None,
            sealed: Vec::new(),
        },
        error => OpError::Import {
            error: Box::new(error),
            database: ws.redacted(),
        },
    })
}
