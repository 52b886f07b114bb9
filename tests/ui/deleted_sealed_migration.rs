mod migrations {
    migrate_macros::embed_migrations!("fixtures/deleted");
}

fn main() {}
