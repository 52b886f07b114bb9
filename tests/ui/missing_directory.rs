mod migrations {
    migrate_macros::embed_migrations!("fixtures/no_such_directory");
}

fn main() {}
