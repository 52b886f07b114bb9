//! The generated constants, LATEST and MIGRATOR of a valid, sealed directory.
mod migrations {
    migrate_macros::embed_migrations!("fixtures/valid");
}

use migrate_runtime::Version;

fn main() {
    const A: Version = migrations::ADD_DATABASE_INDEXES_20240101000000;
    assert_eq!(A.get(), 20240101000000);
    assert_eq!(migrations::ADD_DATABASE_INDEXES_20240201000000.get(), 20240201000000);
    assert_eq!(migrations::M_2FA.get(), 20240301000000);
    assert_eq!(migrations::LATEST, migrations::M_2FA);
    let all = migrations::MIGRATOR.migrations();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].up, "CREATE INDEX a ON t (a);\n");
    assert_eq!(all[0].down, Some("DROP INDEX a;\n"));
    assert_eq!(all[0].up_checksum, migrate_runtime::Checksum::of_sql(all[0].up.as_bytes()).0);
    // Statements are split at run time, on first use.
    let set = migrations::MIGRATOR.set();
    assert_eq!(set.migrations[2].up.statements().map(|s| s.len()), Ok(1));
    assert!(!all[2].no_transaction);
}
