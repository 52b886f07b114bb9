//! The no-argument form (the package's `migrations` directory), constant names that clash
//! with `LATEST` and `MIGRATOR`, and `LATEST` of a directory without migrations.
mod migrations {
    // `<crate root>/migrations`: a copy of `fixtures/clash` (see compile_fail.rs).
    migrate_macros::embed_migrations!();
}

mod empty {
    migrate_macros::embed_migrations!("fixtures/empty");
}

fn main() {
    assert_eq!(migrations::LATEST_20240101000000.get(), 20240101000000);
    assert_eq!(migrations::MIGRATOR_20240201000000.get(), 20240201000000);
    assert_eq!(migrations::LATEST, migrations::MIGRATOR_20240201000000);
    let all = migrations::MIGRATOR.migrations();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].up, "CREATE TABLE latest (id int);\n");
    assert_eq!(empty::LATEST.get(), 0);
    assert!(empty::MIGRATOR.migrations().is_empty());
}
