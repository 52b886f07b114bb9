mod a {
    migrate_macros::embed_migrations!(migrations);
}

mod b {
    migrate_macros::embed_migrations!("fixtures/valid", "again");
}

fn main() {}
