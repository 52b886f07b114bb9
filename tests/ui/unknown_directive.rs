mod migrations {
    migrate_macros::embed_migrations!("fixtures/unknown_directive");
}

fn main() {}
