mod migrations {
    migrate_macros::embed_migrations!("fixtures/edited");
}

fn main() {}
