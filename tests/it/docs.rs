//! The docs point at what exists: every relative link in README.md,
//! BENCHMARKS.md and docs/ names a file or folder of the repository, and
//! every row of docs/failure-modes.md names the test that proves it, as
//! `path.rs::test_name`, in a file that holds `fn test_name`.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, BENCHMARKS.md and every Markdown file under docs/.
fn documents() -> Vec<PathBuf> {
    let mut found = vec![root().join("README.md"), root().join("BENCHMARKS.md")];
    let mut folders = vec![root().join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found
}

/// The text outside fenced code blocks and inline code spans.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// The targets of inline links `[text](target)` and of reference
/// definitions `[label]: target`.
fn link_targets(prose: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for (at, _) in prose.match_indices("](") {
        let rest = &prose[at + 2..];
        if let Some(end) = rest.find(')') {
            targets.push(rest[..end].trim().to_owned());
        }
    }
    for line in prose.lines() {
        let line = line.trim_start();
        if let Some(close) = line.find("]: ")
            && line.starts_with('[')
        {
            targets.push(line[close + 3..].trim().to_owned());
        }
    }
    targets
}

/// A link to somewhere else than this repository's files.
fn external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:") || target.starts_with('#') || target.is_empty()
}

#[test]
fn every_relative_link_in_the_docs_points_at_a_file_that_exists() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        let folder = document.parent().unwrap();
        for target in link_targets(&prose(&text)) {
            if external(&target) {
                continue;
            }
            // A title after the path (`path "title"`) and an anchor go.
            let path = target.split_whitespace().next().unwrap_or_default();
            let path = path.split('#').next().unwrap_or_default();
            checked += 1;
            if !folder.join(path).exists() {
                broken.push(format!(
                    "{}: {target}",
                    document.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that point nowhere:\n{}",
        broken.join("\n")
    );
    assert!(
        checked >= 10,
        "only {checked} relative links found: is the parser blind?"
    );
}

/// Every `path.rs::name` a line names in backticks.
fn named_tests(line: &str) -> Vec<(String, String)> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| {
            let (path, name) = code.split_once(".rs::")?;
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then(|| (format!("{path}.rs"), name))
        })
        .collect()
}

#[test]
fn every_failure_mode_row_names_a_test_that_exists() {
    let text = std::fs::read_to_string(root().join("docs/failure-modes.md")).unwrap();
    let (mut rows, mut missing, mut unproved) = (0, Vec::new(), Vec::new());
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let separator = line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
        if separator || line.contains("proved by") {
            continue;
        }
        rows += 1;
        let tests = named_tests(line);
        if tests.is_empty() {
            unproved.push(line.chars().take(80).collect::<String>());
        }
        for (path, name) in tests {
            let source = std::fs::read_to_string(root().join(&path)).unwrap_or_default();
            if !source.contains(&format!("fn {name}(")) {
                missing.push(format!("{path}::{name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests named that do not exist:\n{}",
        missing.join("\n")
    );
    assert!(
        unproved.is_empty(),
        "rows that name no test:\n{}",
        unproved.join("\n")
    );
    assert!(rows >= 20, "only {rows} failure-mode rows found");
}

#[test]
fn the_parsers_see_links_and_test_names() {
    let text = "[a](docs/x.md) `[not](a/link.md)`\n```\n[no](fenced.md)\n```\n[ref]: ../y.md\n";
    assert_eq!(link_targets(&prose(text)), ["docs/x.md", "../y.md"]);
    assert!(external("https://example.com/a.md") && external("#anchor"));
    assert_eq!(
        named_tests("| x | `tests/it/rooms.rs::a_test` and `src/x.rs::b` |"),
        [
            ("tests/it/rooms.rs".to_owned(), "a_test".to_owned()),
            ("src/x.rs".to_owned(), "b".to_owned())
        ]
    );
}
