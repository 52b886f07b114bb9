mod migrations {
    migrate_macros::embed_migrations!("fixtures/bad_name");
}

fn main() {}
