//! Unified diffs of recorded vs. current SQL, for edited migrations.

use std::path::Path;

/// A unified diff from the SQL recorded in the database to the file on disk (CRLF ignored).
///
/// ```
/// let d = migrate_runtime::engine::unified_diff("SELECT 1;\n", "SELECT 2;\n", "m/migration.sql".as_ref());
/// assert!(d.contains("-SELECT 1;\n+SELECT 2;\n"), "{d}");
/// ```
pub fn unified_diff(recorded: &str, current: &str, path: &Path) -> String {
    let recorded = recorded.replace("\r\n", "\n");
    let current = current.replace("\r\n", "\n");
    similar::TextDiff::from_lines(&recorded, &current)
        .unified_diff()
        .context_radius(3)
        .header("recorded in the database", &path.display().to_string())
        .to_string()
}
