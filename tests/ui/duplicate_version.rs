mod migrations {
    migrate_macros::embed_migrations!("fixtures/duplicate");
}

fn main() {}
