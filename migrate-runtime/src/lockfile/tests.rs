//! The lock file: round trips, corruption with lines, verification of every finding, sealing,
//! and property tests that any change to a sealed set is detected.

use super::*;
use crate::{Checksum, MigrationSet, Version};
use proptest::prelude::*;
use std::fs;
use std::path::Path;

fn v(raw: i64) -> Version {
    Version::new(raw).unwrap()
}

fn entry(raw: i64, name: &str, up: &str, down: Option<&str>) -> LockEntry {
    LockEntry {
        version: v(raw),
        name: name.into(),
        up: Checksum::of_sql(up.as_bytes()),
        verified: false,
        down: down.map(|d| Checksum::of_sql(d.as_bytes())),
    }
}

fn write_migration(dir: &Path, raw: i64, name: &str, up: &str, down: Option<&str>) {
    let folder = dir.join(format!("{}_{name}", v(raw)));
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("migration.sql"), up).unwrap();
    if let Some(down) = down {
        fs::write(folder.join("down.sql"), down).unwrap();
    }
}

fn sealed_dir(migrations: &[(i64, &str, &str, Option<&str>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (raw, name, up, down) in migrations {
        write_migration(dir.path(), *raw, name, up, *down);
    }
    let set = MigrationSet::read(dir.path()).unwrap();
    let outcome = seal(&set, &LockState::Absent, &SealOptions::default()).unwrap();
    write(dir.path(), &outcome.lock).unwrap();
    dir
}

fn findings(dir: &Path) -> Vec<Finding> {
    let set = MigrationSet::read(dir).unwrap();
    verify(&set, &LockState::load(dir).unwrap())
}

#[test]
fn render_is_deterministic_and_parses_back() {
    let lock = LockFile::new(vec![
        entry(20261121093001, "b", "SELECT 2;", None),
        entry(20261121093000, "a", "SELECT 1;", Some("SELECT -1;")),
    ]);
    let text = lock.render();
    assert_eq!(text, LockFile::new(lock.entries().to_vec()).render());
    assert_eq!(LockFile::parse(&text).unwrap(), lock);
    assert_eq!(lock.entries()[0].version, v(20261121093000));
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("20261121093001 b "), "{last}");
    assert!(text.contains(&format!("\nsum {}\n", lock.sum())));
}

#[test]
fn crlf_lock_file_parses() {
    let lock = LockFile::new(vec![entry(20261121093000, "a", "SELECT 1;", None)]);
    let crlf = lock.render().replace('\n', "\r\n");
    assert_eq!(LockFile::parse(&crlf).unwrap(), lock);
}

#[test]
fn conflict_markers_are_corrupt_with_their_line_and_salvage_both_sides() {
    let base = vec![entry(20261121093000, "a", "SELECT 1;", None)];
    let ours =
        LockFile::new([base.clone(), vec![entry(20261121100000, "ours", "X", None)]].concat());
    let theirs = LockFile::new([base, vec![entry(20261121110000, "theirs", "Y", None)]].concat());
    // What git leaves behind: shared lines, then both sides' differing lines.
    let (o, t) = (ours.render(), theirs.render());
    let shared: Vec<&str> = o
        .lines()
        .zip(t.lines())
        .take_while(|(a, b)| a == b)
        .map(|p| p.0)
        .collect();
    let n = shared.len();
    let conflicted = format!(
        "{}\n<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> feature\n",
        shared.join("\n"),
        o.lines().skip(n).collect::<Vec<_>>().join("\n"),
        t.lines().skip(n).collect::<Vec<_>>().join("\n"),
    );
    let state = LockState::from_bytes(conflicted.as_bytes());
    let LockState::Corrupt { error, salvaged } = state else {
        panic!("not corrupt")
    };
    assert_eq!(error.line, Some(n + 1));
    assert!(
        error.message.contains("git merge conflict markers"),
        "{}",
        error.message
    );
    let salvaged = salvaged.unwrap();
    let names: Vec<&str> = salvaged.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "ours", "theirs"]);
}

#[test]
fn salvage_refuses_two_different_seals_of_one_version() {
    let a = entry(20261121093000, "a", "SELECT 1;", None);
    let b = entry(20261121093000, "a", "SELECT 2;", None);
    let text = format!(
        "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> x\n",
        LockFile::new(vec![a]).render(),
        LockFile::new(vec![b]).render()
    );
    let err = LockFile::salvage(&text).unwrap_err();
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("20261121093000 "))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(err.line, Some(lines[1]));
    assert_eq!(
        err.message,
        format!(
            "version 20261121093000 is sealed differently here and on line {}",
            lines[0]
        )
    );
}

#[test]
fn hand_edits_are_corrupt_at_the_right_line() {
    let lock = LockFile::new(vec![
        entry(20261121093000, "a", "SELECT 1;", None),
        entry(20261121093001, "b", "SELECT 2;", None),
    ]);
    let text = lock.render();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    // Swap the up hash of the first entry for another valid hash.
    let edited = text.replace(
        &Checksum::of_sql(b"SELECT 1;").to_string(),
        &Checksum::of_sql(b"SELECT 3;").to_string(),
    );
    let err = LockFile::parse(&edited).unwrap_err();
    assert_eq!(err.line, Some(n - 1));
    assert!(err.message.contains("chain hash does not match"));
    // Drop the last entry: the chain of the rest holds, but the sum does not.
    let dropped = lines[..n - 1].join("\n");
    let err = LockFile::parse(&dropped).unwrap_err();
    assert!(
        err.message.starts_with("sum does not match"),
        "{}",
        err.message
    );
    // Garbage.
    let err = LockFile::parse("format 1\nsum zz\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    let err = LockFile::parse("format 3\n").unwrap_err();
    assert!(err.message.contains("format 3 is not supported"));
    let err = LockFile::parse("").unwrap_err();
    assert_eq!(err.line, None);
}

#[test]
fn verify_reports_every_kind_in_version_order() {
    let dir = sealed_dir(&[
        (20261121090000, "edited_up", "SELECT 1;", Some("SELECT -1;")),
        (
            20261121090001,
            "edited_down",
            "SELECT 2;",
            Some("SELECT -2;"),
        ),
        (20261121090002, "deleted", "SELECT 3;", None),
        (20261121090003, "renamed", "SELECT 4;", None),
        (20261121090005, "intact", "SELECT 5;", None),
    ]);
    let d = dir.path();
    fs::write(
        d.join("20261121090000_edited_up/migration.sql"),
        "SELECT 10;",
    )
    .unwrap();
    fs::write(d.join("20261121090001_edited_down/down.sql"), "SELECT -20;").unwrap();
    fs::remove_dir_all(d.join("20261121090002_deleted")).unwrap();
    fs::rename(
        d.join("20261121090003_renamed"),
        d.join("20261121090003_new_name"),
    )
    .unwrap();
    write_migration(d, 20261121090004, "late_draft", "SELECT 6;", None);
    write_migration(d, 20261121090006, "draft", "SELECT 7;", None);
    let kinds: Vec<(String, &str)> = findings(d)
        .iter()
        .map(|f| (f.version().unwrap().to_string(), f.kind()))
        .collect();
    let expected = [
        ("20261121090000", "edited"),
        ("20261121090001", "edited"),
        ("20261121090002", "missing"),
        ("20261121090003", "renamed"),
        ("20261121090004", "out_of_order"),
        ("20261121090006", "unsealed"),
    ];
    let expected: Vec<(String, &str)> = expected.iter().map(|(a, b)| (a.to_string(), *b)).collect();
    assert_eq!(kinds, expected);
    let text: Vec<String> = findings(d).iter().map(|f| f.to_string()).collect();
    let up = Checksum::of_sql(b"SELECT 1;").short();
    let now = Checksum::of_sql(b"SELECT 10;").short();
    assert_eq!(
        text[0],
        format!(
            "{}/20261121090000_edited_up/migration.sql: edited after it was sealed (sealed {up}, now {now})",
            d.display()
        )
    );
}

#[test]
fn adding_or_deleting_down_sql_of_a_sealed_migration_is_an_edit() {
    let dir = sealed_dir(&[
        (20261121090000, "a", "SELECT 1;", None),
        (20261121090001, "b", "SELECT 1;", Some("SELECT 2;")),
    ]);
    fs::write(dir.path().join("20261121090000_a/down.sql"), "SELECT 0;").unwrap();
    fs::remove_file(dir.path().join("20261121090001_b/down.sql")).unwrap();
    let text: Vec<String> = findings(dir.path()).iter().map(|f| f.to_string()).collect();
    assert!(
        text[0].contains("down.sql: added after its migration was sealed"),
        "{}",
        text[0]
    );
    assert!(
        text[1].contains("down.sql: deleted after its migration was sealed"),
        "{}",
        text[1]
    );
}

#[test]
fn crlf_checkout_of_a_sealed_migration_is_not_an_edit() {
    let dir = sealed_dir(&[(20261121090000, "a", "SELECT 1;\nSELECT 2;\n", None)]);
    fs::write(
        dir.path().join("20261121090000_a/migration.sql"),
        "SELECT 1;\r\nSELECT 2;\r\n",
    )
    .unwrap();
    assert_eq!(findings(dir.path()), []);
}

#[test]
fn seal_refuses_edits_unless_forced_and_forcing_an_intact_version_is_an_error() {
    let dir = sealed_dir(&[(20261121090000, "a", "SELECT 1;", None)]);
    fs::write(
        dir.path().join("20261121090000_a/migration.sql"),
        "SELECT 2;",
    )
    .unwrap();
    let set = MigrationSet::read(dir.path()).unwrap();
    let state = LockState::load(dir.path()).unwrap();
    let refused = seal(&set, &state, &SealOptions::default()).unwrap_err();
    assert_eq!(refused.findings.len(), 1);
    let force = SealOptions {
        force: [v(20261121090000)].into(),
        ..Default::default()
    };
    let outcome = seal(&set, &state, &force).unwrap();
    assert_eq!(outcome.resealed, [v(20261121090000)]);
    let wrong = SealOptions {
        force: [v(20261121090001)].into(),
        ..Default::default()
    };
    let refused = seal(&set, &state, &wrong).unwrap_err();
    assert_eq!(refused.useless_force, [v(20261121090001)]);
}

#[test]
fn seal_after_a_merge_conflict_rewrites_the_lock_from_both_sides() {
    let dir = sealed_dir(&[(20261121090000, "a", "SELECT 1;", None)]);
    write_migration(dir.path(), 20261121100000, "ours", "SELECT 2;", None);
    write_migration(dir.path(), 20261121110000, "theirs", "SELECT 3;", None);
    let set = MigrationSet::read(dir.path()).unwrap();
    let base = fs::read_to_string(path(dir.path())).unwrap();
    let lock_with = |extra: &str| {
        let e = entry(
            if extra == "ours" {
                20261121100000
            } else {
                20261121110000
            },
            extra,
            if extra == "ours" {
                "SELECT 2;"
            } else {
                "SELECT 3;"
            },
            None,
        );
        let mut entries = LockFile::parse(&base).unwrap().entries().to_vec();
        entries.push(e);
        LockFile::new(entries).render()
    };
    let conflicted = format!(
        "<<<<<<< HEAD\n{}=======\n{}>>>>>>> theirs\n",
        lock_with("ours"),
        lock_with("theirs")
    );
    let state = LockState::from_bytes(conflicted.as_bytes());
    let outcome = seal(&set, &state, &SealOptions::default()).unwrap();
    assert!(outcome.repaired);
    assert_eq!(outcome.sealed, []);
    assert_eq!(outcome.lock.entries().len(), 3);
}

#[test]
fn seal_refuses_out_of_order_drafts_unless_allowed() {
    let dir = sealed_dir(&[(20261121090005, "b", "SELECT 1;", None)]);
    write_migration(dir.path(), 20261121090000, "older", "SELECT 2;", None);
    let set = MigrationSet::read(dir.path()).unwrap();
    let state = LockState::load(dir.path()).unwrap();
    assert!(seal(&set, &state, &SealOptions::default()).is_err());
    let allow = SealOptions {
        allow_out_of_order: true,
        ..Default::default()
    };
    assert_eq!(
        seal(&set, &state, &allow).unwrap().sealed,
        [v(20261121090000)]
    );
}

#[derive(Debug, Clone)]
enum Change {
    EditUp(usize),
    EditDown(usize),
    Delete(usize),
    InsertOlder(usize),
    SwapNames(usize),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..6usize).prop_map(Change::EditUp),
        (0..6usize).prop_map(Change::EditDown),
        (0..6usize).prop_map(Change::Delete),
        (1..6usize).prop_map(Change::InsertOlder),
        (0..5usize).prop_map(Change::SwapNames),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any edit, deletion, insertion or reordering of a sealed set is reported, and a
    /// byte-identical directory verifies clean.
    #[test]
    fn any_change_to_a_sealed_set_is_detected(
        n in 1..6usize,
        change in change(),
        body in "[a-z ]{1,20}",
    ) {
        let specs: Vec<(i64, String, String, Option<String>)> = (0..n)
            .map(|i| (20261121090000 + 10 * i as i64, format!("m{i}"), format!("SELECT {i};"), (i % 2 == 0).then(|| format!("SELECT -{i};"))))
            .collect();
        let refs: Vec<(i64, &str, &str, Option<&str>)> =
            specs.iter().map(|(v, n, u, d)| (*v, n.as_str(), u.as_str(), d.as_deref())).collect();
        let dir = sealed_dir(&refs);
        let d = dir.path();
        prop_assert_eq!(findings(d), vec![]);
        let folder = |i: usize| d.join(format!("{}_m{i}", v(specs[i].0)));
        let i = match &change {
            Change::EditUp(i) | Change::EditDown(i) | Change::Delete(i) | Change::InsertOlder(i) | Change::SwapNames(i) => *i,
        };
        prop_assume!(i < n);
        match change {
            Change::EditUp(i) => fs::write(folder(i).join("migration.sql"), format!("SELECT {i}; -- {body}")).unwrap(),
            Change::EditDown(i) => fs::write(folder(i).join("down.sql"), format!("-- {body}\nSELECT 0;")).unwrap(),
            Change::Delete(i) => fs::remove_dir_all(folder(i)).unwrap(),
            Change::InsertOlder(i) => write_migration(d, specs[i].0 - 1, "inserted", "SELECT 99;", None),
            Change::SwapNames(i) => {
                prop_assume!(i + 1 < n);
                let tmp = d.join("tmp");
                fs::rename(folder(i).join("migration.sql"), &tmp).unwrap();
                fs::rename(folder(i + 1).join("migration.sql"), folder(i).join("migration.sql")).unwrap();
                fs::rename(&tmp, folder(i + 1).join("migration.sql")).unwrap();
            }
        }
        let found = findings(d);
        prop_assert!(!found.is_empty());
        prop_assert!(found.iter().all(|f| f.kind() != "unsealed"), "{:?}", found);
    }
}

#[test]
fn a_verified_entry_writes_format_2_which_parses_back_and_keeps_its_chain() {
    let mut first = entry(20261121090000, "a", "SELECT 1;", Some("SELECT 2;"));
    first.verified = true;
    let second = entry(20261121090100, "b", "SELECT 3;", None);
    let lock = LockFile::new(vec![first, second]);
    assert_eq!(lock.format(), 2);
    let text = lock.render();
    assert!(text.contains("\nformat 2\n"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("2026")).collect();
    assert_eq!(lines[0].split(' ').nth(4), Some("verified"));
    assert_eq!(lines[1].split(' ').nth(4), Some("-"));
    assert_eq!(LockFile::parse(&text).unwrap(), lock);
    // Unverifying an entry by hand breaks its chain.
    let forged = text.replacen(" verified ", " - ", 1);
    let err = LockFile::parse(&forged).unwrap_err();
    assert!(err.message.contains("chain hash does not match"), "{err}");
    // A format 1 file with a format 2 entry is corrupt.
    let mixed = text.replace("\nformat 2\n", "\nformat 1\n");
    let err = LockFile::parse(&mixed).unwrap_err();
    assert_eq!(err.message, "entry has 6 columns; format 1 has 5");
    // Salvage (after a merge conflict) keeps the flags.
    assert_eq!(LockFile::salvage(&text).unwrap(), lock);
}

#[test]
fn without_verified_entries_the_lock_stays_format_1() {
    let lock = LockFile::new(vec![entry(20261121090000, "a", "SELECT 1;", None)]);
    assert_eq!(lock.format(), 1);
    let text = lock.render();
    assert!(text.contains("\nformat 1\n"), "{text}");
    assert_eq!(text.lines().last().unwrap().split(' ').count(), 5);
}

#[test]
fn same_files_compares_everything_but_verified() {
    let a = entry(1, "a", "SELECT 1;", Some("SELECT 2;"));
    assert!(a.same_files(&LockEntry {
        verified: !a.verified,
        ..a.clone()
    }));
    let others = [
        LockEntry {
            version: v(2),
            ..a.clone()
        },
        LockEntry {
            name: "b".into(),
            ..a.clone()
        },
        LockEntry {
            up: Checksum::of_sql(b"SELECT 3;"),
            ..a.clone()
        },
        LockEntry {
            down: None,
            ..a.clone()
        },
    ];
    for other in others {
        assert!(!a.same_files(&other), "{other:?}");
    }
}

#[test]
fn a_lock_file_that_cannot_be_read_is_an_error_not_absent() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: reading it fails, but not with NotFound.
    fs::create_dir(path(dir.path())).unwrap();
    assert!(LockState::load(dir.path()).is_err());
}

#[test]
fn corrupt_shows_its_line_when_it_has_one() {
    let at = Corrupt {
        line: Some(3),
        message: "merge conflict".into(),
    };
    assert_eq!(at.to_string(), "line 3: merge conflict");
    let nowhere = Corrupt {
        line: None,
        message: "not valid UTF-8".into(),
    };
    assert_eq!(nowhere.to_string(), "not valid UTF-8");
}

#[test]
fn the_columns_comment_names_the_columns_of_each_format() {
    let columns = |lock: &LockFile| -> String {
        lock.render()
            .lines()
            .find(|l| l.starts_with("# columns:"))
            .unwrap_or_default()
            .to_string()
    };
    let plain = LockFile::new(vec![entry(1, "a", "SELECT 1;", None)]);
    let verified = LockFile::new(vec![LockEntry {
        verified: true,
        ..entry(1, "a", "SELECT 1;", None)
    }]);
    assert_eq!(plain.format(), 1);
    assert_eq!(
        columns(&plain),
        "# columns: version name sha256(migration.sql) sha256(down.sql)|- chain"
    );
    assert_eq!(verified.format(), 2);
    assert_eq!(
        columns(&verified),
        "# columns: version name sha256(migration.sql) sha256(down.sql)|- verified|- chain"
    );
    assert_eq!(verified.render().matches("# columns:").count(), 1);
}

#[test]
fn the_header_lines_come_once_each_and_in_order() {
    let text = LockFile::new(vec![entry(1, "a", "SELECT 1;", None)]).render();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    let (format, sum) = (at("format "), at("sum "));
    assert_eq!(sum, format + 1, "{text}");
    let parse = |edited: Vec<String>| LockFile::parse(&edited.join("\n")).unwrap_err();
    // No format line: the sum line is where it was expected.
    let mut edited = lines.clone();
    edited.remove(format);
    let e = parse(edited);
    assert_eq!(
        (e.line, e.message.as_str()),
        (Some(format + 1), "expected the header line `format 1`")
    );
    // The format line twice: the second is not the sum line.
    let mut edited = lines.clone();
    edited.insert(format, lines[format].clone());
    let e = parse(edited);
    assert_eq!(
        (e.line, e.message.as_str()),
        (Some(format + 2), "expected the header line `sum <hash>`")
    );
    // No sum line: the first entry is where it was expected.
    let mut edited = lines.clone();
    edited.remove(sum);
    let e = parse(edited);
    assert_eq!(
        (e.line, e.message.as_str()),
        (Some(sum + 1), "expected the header line `sum <hash>`")
    );
    // The sum line twice: the second is no entry.
    let mut edited = lines.clone();
    edited.insert(sum, lines[sum].clone());
    assert_eq!(parse(edited).line, Some(sum + 2));
    assert!(LockFile::parse(&text).is_ok());
}

#[test]
fn salvage_names_the_line_it_cannot_read() {
    let text = "<<<<<<< HEAD\nformat 1\nnot an entry\n=======\n>>>>>>> branch\n";
    assert_eq!(LockFile::salvage(text).unwrap_err().line, Some(3));
}

#[test]
fn seal_keeps_a_verified_entry_verified_and_marks_only_what_verify_proved() {
    let dir = sealed_dir(&[(1, "a", "SELECT 1;", None), (2, "b", "SELECT 2;", None)]);
    write_migration(dir.path(), 3, "c", "SELECT 3;", None);
    let set = MigrationSet::read(dir.path()).unwrap();
    let verified_flags =
        |lock: &LockFile| -> Vec<bool> { lock.entries().iter().map(|e| e.verified).collect() };
    // Nothing verified yet: sealing the draft verifies nothing.
    let state = LockState::load(dir.path()).unwrap();
    let plain = seal(&set, &state, &SealOptions::default()).unwrap();
    assert_eq!(verified_flags(&plain.lock), [false, false, false]);
    // The draft sealed as verified (verify proved it): only it.
    let options = SealOptions {
        verified: [v(3)].into(),
        ..SealOptions::default()
    };
    let outcome = seal(&set, &state, &options).unwrap();
    assert_eq!(verified_flags(&outcome.lock), [false, false, true]);
    // Sealing again keeps it verified; the unverified stay unverified.
    write(dir.path(), &outcome.lock).unwrap();
    let state = LockState::load(dir.path()).unwrap();
    let again = seal(&set, &state, &SealOptions::default()).unwrap();
    assert_eq!(verified_flags(&again.lock), [false, false, true]);
}

#[test]
fn seal_drafts_adds_only_the_applied_drafts_to_what_is_sealed() {
    let dir = sealed_dir(&[(1, "a", "SELECT 1;", None)]);
    write_migration(dir.path(), 2, "b", "SELECT 2;", None);
    write_migration(dir.path(), 3, "c", "SELECT 3;", None);
    let set = MigrationSet::read(dir.path()).unwrap();
    let state = LockState::load(dir.path()).unwrap();
    // 1 is sealed already, 3 was not applied, 4 does not exist.
    let (lock, sealed) = seal_drafts(&set, &state, &[v(1), v(2), v(4)]).unwrap();
    assert_eq!(sealed, [v(2)]);
    let versions: Vec<Version> = lock.entries().iter().map(|e| e.version).collect();
    assert_eq!(versions, [v(1), v(2)]);
    assert_eq!(lock.get(v(2)), Some(&LockEntry::of(&set.migrations[1])));
    assert_eq!(seal_drafts(&set, &state, &[v(1)]), None);
}

#[test]
fn drafts_are_the_unsealed_and_out_of_order_findings_and_each_says_what_to_do() {
    let dir = sealed_dir(&[(2, "b", "SELECT 2;", None)]);
    write_migration(dir.path(), 1, "a", "SELECT 1;", None);
    write_migration(dir.path(), 3, "c", "SELECT 3;", None);
    let found = findings(dir.path());
    let drafts: Vec<(&str, Option<Version>)> =
        found.iter().map(|f| (f.kind(), f.draft())).collect();
    assert_eq!(
        drafts,
        [("out_of_order", Some(v(1))), ("unsealed", Some(v(3)))]
    );
    assert_eq!(
        found[1].help(),
        "a draft: run `cargo migrate seal` once it is ready (apply seals it too)"
    );
    assert!(
        found[0]
            .help()
            .starts_with(&format!("it is older than the sealed {}: ", v(2))),
        "{}",
        found[0].help()
    );
    fs::remove_dir_all(dir.path().join(format!("{}_b", v(2)))).unwrap();
    let missing = findings(dir.path());
    let gone = missing.iter().find(|f| f.kind() == "missing").unwrap();
    assert_eq!(gone.draft(), None);
    assert_eq!(
        gone.help(),
        format!(
            "restore the folder from git; if {0} was never shared, `cargo migrate seal --force \
             {0}` removes it from the lock file",
            v(2)
        )
    );
}

#[test]
fn a_corrupt_lock_file_reports_why_salvage_failed_too_once() {
    let set = MigrationSet {
        dir: "migrations".into(),
        migrations: vec![],
    };
    let lines = |bytes: &[u8]| -> Vec<Option<usize>> {
        verify(&set, &LockState::from_bytes(bytes))
            .iter()
            .map(|f| match f {
                Finding::Corrupt { line, .. } => *line,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    // The conflict marker, then the line salvage could not read.
    assert_eq!(
        lines(b"<<<<<<< HEAD\nformat 1\nnot an entry\n"),
        [Some(1), Some(3)]
    );
    // Not UTF-8: salvage fails for the same reason, said once.
    assert_eq!(lines(b"\xff\xfe"), [None]);
}

#[test]
fn loading_reads_a_file_as_its_bytes_say_line_endings_corruption_and_bad_utf8_included() {
    let dir = sealed_dir(&[
        (20261121090000, "a", "SELECT 1;", Some("SELECT 0;")),
        (20261121090001, "b", "SELECT 2;", None),
    ]);
    let file = path(dir.path());
    let text = fs::read_to_string(&file).unwrap();
    let crlf = text.replace('\n', "\r\n");
    let mut bad_utf8 = text.clone().into_bytes();
    bad_utf8.extend_from_slice(b"# \xff\n");
    let edited = text.replacen(" a ", " x ", 1);
    let conflicted = format!("<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> branch\n");
    for bytes in [
        text.as_bytes(),
        crlf.as_bytes(),
        &bad_utf8,
        edited.as_bytes(),
        conflicted.as_bytes(),
        b"",
    ] {
        fs::write(&file, bytes).unwrap();
        assert_eq!(
            LockState::load(dir.path()).unwrap(),
            LockState::from_bytes(bytes),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    fs::write(&file, &text).unwrap();
    let LockState::Valid(lock) = LockState::load(dir.path()).unwrap() else {
        panic!("a sealed directory's lock file is valid");
    };
    assert_eq!(lock.entries().len(), 2);
}
