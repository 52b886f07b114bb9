mod migrations {
    migrate_macros::embed_migrations!("fixtures/corrupt");
}

fn main() {}
