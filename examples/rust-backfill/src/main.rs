//! `rust-backfill <database-url>`: applies the example's migrations, the Rust backfill with its
//! registered code, and prints what ran.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .ok_or("usage: rust-backfill <database-url> (or set DATABASE_URL)")?;
    let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
    let report = rust_backfill::migrate(&mut client)?;
    for done in &report.applied {
        match &done.backfill {
            Some(p) => println!(
                "applied {}_{}: {} rows in {} batches",
                done.version, done.name, p.rows, p.batches
            ),
            None => println!("applied {}_{}", done.version, done.name),
        }
    }
    if report.applied.is_empty() {
        println!("up to date");
    }
    Ok(())
}
