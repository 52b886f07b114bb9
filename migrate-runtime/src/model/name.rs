//! Folder names: `<14-digit UTC timestamp>_<name>`, the layout Prisma teams already have.

use crate::Version;

/// Splits a migration folder name into its version and name.
///
/// Reading is lenient about the name part (ASCII letters, digits and `_`, as existing Prisma
/// projects have them); [`validate_new_name`] is strict for names that we create.
///
/// ```
/// use migrate_runtime::model::parse_folder_name;
/// let (v, name) = parse_folder_name("20261121093000_create_users").unwrap();
/// assert_eq!((v.get(), name), (20261121093000, "create_users"));
/// assert!(parse_folder_name("2026_create_users").is_none());
/// assert!(parse_folder_name("20261121093000-create-users").is_none());
/// ```
pub fn parse_folder_name(folder: &str) -> Option<(Version, &str)> {
    let (digits, name) = folder.split_at_checked(14)?;
    let name = name.strip_prefix('_')?;
    let version: Version = digits.parse().ok()?;
    is_folder_name_part(name).then_some((version, name))
}

/// Whether `name` is legal as the name part of a folder name (read leniently: ASCII letters,
/// digits and `_`, at least one letter or digit).
///
/// ```
/// use migrate_runtime::model::is_folder_name_part;
/// assert!(is_folder_name_part("add_2FA"));
/// assert!(!is_folder_name_part("__") && !is_folder_name_part("add-users"));
/// ```
pub fn is_folder_name_part(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.iter().any(|b| b.is_ascii_alphanumeric())
}

/// Checks a name given to `cargo migrate new`: lowercase `snake_case`, starting with a letter.
/// The error says what is wrong and suggests a fixed name when there is one.
///
/// ```
/// use migrate_runtime::model::validate_new_name;
/// assert!(validate_new_name("add_users_email_index").is_ok());
/// let err = validate_new_name("Add Users").unwrap_err();
/// assert!(err.contains("try `add_users`"), "{err}");
/// ```
pub fn validate_new_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
        && name.len() <= 100;
    if ok {
        return Ok(());
    }
    let mut msg = if name.is_empty() {
        "the migration name is empty".to_string()
    } else if name.len() > 100 {
        format!(
            "the migration name is {} characters long; keep it under 100",
            name.len()
        )
    } else {
        format!(
            "`{name}` is not a valid migration name: use lowercase snake_case \
             (letters, digits and single underscores, starting with a letter)"
        )
    };
    let suggestion = suggest_snake_case(name);
    if !suggestion.is_empty() && suggestion != name && suggestion.len() <= 100 {
        msg.push_str(&format!("; try `{suggestion}`"));
    }
    Err(msg)
}

fn suggest_snake_case(name: &str) -> String {
    let trimmed = snake_words(name);
    if trimmed.starts_with(|c: char| c.is_ascii_lowercase()) {
        trimmed
    } else if trimmed.is_empty() {
        String::new()
    } else {
        format!("m_{trimmed}")
    }
}

/// A name's words in lowercase snake_case: split at anything but letters and digits and at
/// lower-to-upper case changes (`AddPosts` → `add_posts`, `create users` → `create_users`);
/// may be empty or start with a digit.
pub(crate) fn snake_words(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            prev_lower = false;
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
    }
    out.trim_matches('_').to_string()
}

/// Constant names: the migration name in UPPER_SNAKE_CASE (`create_users` → `CREATE_USERS`,
/// prefixed `M_` when it starts with a digit); names shared by several migrations, or equal to
/// `LATEST` or `MIGRATOR`, get `_<version>` appended to each.
///
/// ```
/// use migrate_runtime::model::constant_names;
/// let names = constant_names(&[("20240101000000", "add_indexes"), ("20240201000000", "add_indexes"), ("20240301000000", "2fa")]);
/// assert_eq!(names, ["ADD_INDEXES_20240101000000", "ADD_INDEXES_20240201000000", "M_2FA"]);
/// ```
pub fn constant_names(migrations: &[(&str, &str)]) -> Vec<String> {
    let base: Vec<String> = migrations
        .iter()
        .map(|(_, name)| {
            let upper = name.to_ascii_uppercase();
            if upper.starts_with(|c: char| c.is_ascii_digit()) {
                format!("M_{upper}")
            } else {
                upper
            }
        })
        .collect();
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for b in &base {
        *count.entry(b.as_str()).or_default() += 1;
    }
    base.iter()
        .zip(migrations)
        .map(|(b, (version, _))| {
            if count[b.as_str()] > 1 || b == "LATEST" || b == "MIGRATOR" {
                format!("{b}_{version}")
            } else {
                b.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prisma_style_names() {
        for folder in [
            "20241101000000_init",
            "20241120093000_add_ticket_tags_index",
            "00000000000000_diesel_initial_setup",
            "20241101000000_add_2FA",
        ] {
            assert!(parse_folder_name(folder).is_some(), "{folder}");
        }
    }

    #[test]
    fn rejects_malformed_folders() {
        for folder in [
            "20241101000000",
            "20241101000000_",
            "20241101000000__",
            "2024110100000_init",
            "20241101000000init",
            "20241101000000_add-users",
            "20241101000000_add users",
            "20241101000000_ä",
            "v1_init",
        ] {
            assert!(parse_folder_name(folder).is_none(), "{folder}");
        }
    }

    #[test]
    fn suggests_snake_case() {
        assert_eq!(suggest_snake_case("AddUsersTable"), "add_users_table");
        assert_eq!(suggest_snake_case("add-users  email"), "add_users_email");
        assert_eq!(suggest_snake_case("2fa"), "m_2fa");
        assert_eq!(
            validate_new_name("").unwrap_err(),
            "the migration name is empty"
        );
        assert!(validate_new_name("a__b").is_err());
        assert!(validate_new_name("trailing_").is_err());
    }
}
