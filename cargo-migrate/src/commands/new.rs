//! `cargo migrate new <name>`: creates `<timestamp>_<name>/migration.sql` (and `down.sql`).

use crate::cli::NewArgs;
use crate::context::Context;
use crate::context::Format;
use crate::exit::Exit;
use crate::report::{Error, print_json};
use migrate_runtime::model::{CreateError, DOWN_FILE, NewMigration, UP_FILE, create_migration};
use serde_json::json;

pub fn run(cx: &Context, args: NewArgs) -> Result<Exit, Error> {
    let new = NewMigration {
        name: &args.name,
        no_transaction: args.no_transaction,
        irreversible: args.irreversible,
    };
    let folder = create_migration(&cx.dir, &new, time::OffsetDateTime::now_utc()).map_err(|e| {
        match e {
            CreateError::InvalidName(message) => Error::new(message),
            CreateError::Io { .. } => Error::new(format!("cannot create the migration: {e}")),
        }
        .note("nothing was created")
    })?;
    let mut files = vec![folder.join(UP_FILE)];
    if !args.irreversible {
        files.push(folder.join(DOWN_FILE));
    }
    match cx.format {
        Format::Text => {
            println!("{}", folder.display());
            crate::info!(
                "Created {}: write the SQL, then seal it with `cargo migrate seal`.",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
        }
        Format::Json => {
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            print_json(&json!({
                "ok": true,
                "version": &name[..14],
                "name": args.name,
                "path": folder,
                "files": files,
            }));
        }
    }
    Ok(Exit::Success)
}
