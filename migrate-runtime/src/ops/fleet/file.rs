//! The fleet file: one database per line, as a connection string (URL or key=value) or as
//! `env:VAR` (the connection string is in that environment variable); blank lines and lines
//! starting with `#` are skipped. Each line is parsed with the driver's parser into a
//! [`ConnInfo`]; a line that does not parse is reported by its number only, never its text
//! (it may hold a password).

use crate::engine::connection::ConnInfo;
use std::fmt;
use std::path::{Path, PathBuf};

/// One database of a fleet.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its line in the fleet file (1-based).
    pub line: usize,
    /// The connection, parsed.
    pub info: ConnInfo,
}

/// A problem with one line of the fleet file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineProblem {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong (never the line's text).
    pub message: String,
}

/// Why the fleet file could not be used; nothing was run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetFileError {
    /// `--fleet` without a file, and no `fleet` setting.
    NotGiven,
    /// The file could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// The file names no database.
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// Lines that are not databases.
    Lines {
        /// The file.
        path: PathBuf,
        /// Every bad line.
        problems: Vec<LineProblem>,
    },
}

impl fmt::Display for FleetFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetFileError::NotGiven => write!(
                f,
                "--fleet needs a file: give one (`--fleet fleet.txt`) or set `fleet` in \
                 [package.metadata.migrate]"
            ),
            FleetFileError::Unreadable { path, error } => {
                write!(f, "cannot read the fleet file {}: {error}", path.display())
            }
            FleetFileError::Empty { path } => {
                write!(f, "the fleet file {} names no database", path.display())
            }
            FleetFileError::Lines { path, problems } => {
                let n = problems.len();
                write!(
                    f,
                    "the fleet file {} has {} bad line{}",
                    path.display(),
                    n,
                    if n == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    write!(f, "\n  {}:{}: {}", path.display(), p.line, p.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for FleetFileError {}

/// Reads and parses the fleet file at `path`, environment references from the process
/// environment.
pub fn read(path: &Path) -> Result<Vec<Member>, FleetFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FleetFileError::Unreadable {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    let members = parse(&text, |name| std::env::var(name).ok()).map_err(|problems| {
        FleetFileError::Lines {
            path: path.to_path_buf(),
            problems,
        }
    })?;
    if members.is_empty() {
        return Err(FleetFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(members)
}

/// Parses a fleet file's text; `env` looks up environment references. Every bad line is
/// reported, in order.
///
/// ```
/// use migrate_runtime::ops::fleet::parse;
/// let text = "# tenants\npostgres://app:pw@db1/a\n\nenv:TENANT_B\nhost=db3 PASSWORD=x\n";
/// let env = |name: &str| (name == "TENANT_B").then(|| "postgres://app@db2/b".to_string());
/// let problems = parse(text, env).unwrap_err();
/// assert_eq!(problems[0].line, 5);
/// assert_eq!(problems[0].message, "not a connection string: unknown option (did you mean `password`?)");
/// let members = parse("postgres://app:pw@db1/a\nenv:TENANT_B\n", env).unwrap();
/// assert_eq!(members[1].info.label(), "app@db2:5432/b");
/// ```
pub fn parse(
    text: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Member>, Vec<LineProblem>> {
    let mut members: Vec<Member> = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let entry = raw.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let parsed = match entry.strip_prefix("env:") {
            Some(name) => from_env(name.trim(), &env),
            None => ConnInfo::parse(entry).map_err(|e| format!("not a connection string: {e}")),
        };
        match parsed {
            Ok(info) => {
                let place = database_of(&info);
                if let Some(first) = members.iter().find(|m| database_of(&m.info) == place) {
                    problems.push(LineProblem {
                        line,
                        message: format!(
                            "the same database as line {} ({})",
                            first.line,
                            info.label()
                        ),
                    });
                } else {
                    members.push(Member { line, info });
                }
            }
            Err(message) => problems.push(LineProblem { line, message }),
        }
    }
    if problems.is_empty() {
        Ok(members)
    } else {
        Err(problems)
    }
}

/// `env:NAME`: the connection string in that variable.
fn from_env(name: &str, env: &impl Fn(&str) -> Option<String>) -> Result<ConnInfo, String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(
            "`env:` must be followed by an environment variable's name (letters, digits, `_`)"
                .into(),
        );
    }
    match env(name).filter(|v| !v.trim().is_empty()) {
        None => Err(format!("the environment variable `{name}` is not set")),
        Some(value) => ConnInfo::parse(value.trim())
            .map_err(|e| format!("`{name}` is not a connection string: {e}")),
    }
}

/// Which database a connection reaches (hosts, ports and name; not the user).
fn database_of(info: &ConnInfo) -> String {
    let label = info.label();
    label
        .rsplit_once('@')
        .map_or(label.clone(), |(_, place)| place.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn comments_blank_lines_and_both_forms_are_read_in_order() {
        let text = "  # a comment\n\npostgres://a:secret@h1/one\n  host=h2 user=b dbname=two  \n";
        let members = parse(text, no_env).expect("parses");
        let labels: Vec<(usize, String)> =
            members.iter().map(|m| (m.line, m.info.label())).collect();
        assert_eq!(
            labels,
            vec![
                (3, "a@h1:5432/one".to_string()),
                (4, "b@h2:5432/two".to_string())
            ]
        );
    }

    #[test]
    fn every_bad_line_is_reported_without_its_text() {
        let text = "postgres://u:hunter2@h/a\npostgres://u:p@ss@h/b\nenv:MISSING\nenv:1X\npostgres://u@h/a\n";
        let problems = parse(text, no_env).expect_err("bad lines");
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5]);
        assert_eq!(
            problems[1].message,
            "the environment variable `MISSING` is not set"
        );
        assert_eq!(
            problems[3].message,
            "the same database as line 1 (u@h:5432/a)"
        );
        for p in &problems {
            assert!(!p.message.contains("ss@h") && !p.message.contains("hunter2"));
        }
    }

    #[test]
    fn an_environment_value_that_does_not_parse_names_the_variable_only() {
        let env = |_: &str| Some("host=h passwd=s3cret".to_string());
        let problems = parse("env:DB\n", env).expect_err("bad value");
        assert_eq!(problems[0].line, 1);
        assert!(
            problems[0]
                .message
                .starts_with("`DB` is not a connection string")
        );
        assert!(!problems[0].message.contains("s3cret"));
    }
}
