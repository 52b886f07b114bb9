//! A count with its noun in the right number, for messages ("1 batch", "2 batches").

/// `n` followed by `one` when `n` is 1, else by `many`.
///
/// ```
/// use migrate_runtime::counted;
/// assert_eq!(counted(1, "batch", "batches"), "1 batch");
/// assert_eq!(counted(0, "row", "rows"), "0 rows");
/// assert_eq!(counted(40, "row", "rows"), "40 rows");
/// ```
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
