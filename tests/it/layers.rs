//! The floors of `src/`: a module names only modules on its own floor or
//! below, and no two units name each other, directly or through others.
//! Edges are the `crate::` paths of each file (its `use` lines and any
//! inline path), outside comments. A unit is an entry of [`FLOORS`]: a
//! folder's files are one unit (its `mod.rs` and children may name each
//! other), except the provider seam, which is a unit apart from each
//! provider. A module that no entry covers fails the test: place it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top (1) to bottom (6). See docs/ARCHITECTURE.md, "Floors".
const FLOORS: &[(&str, u8)] = &[
    ("cold_start", 1),
    ("config", 2),
    ("runtime", 2),
    ("api", 3),
    ("providers::aipix", 4),
    ("providers::cas", 4),
    ("providers::demo", 4),
    ("providers::livekit", 4),
    ("rooms", 4),
    ("quota", 4),
    ("metrics", 4),
    ("providers", 5),
    ("secrets", 5),
    ("error", 5),
    ("identity", 5),
    ("aws", 5),
    ("deadline", 6),
    ("jwt", 6),
    ("tls", 6),
    ("logging", 6),
    ("json", 6),
    ("names", 6),
];

/// The unit (an entry of `FLOORS`) a module path belongs to: its longest
/// prefix in the table.
fn unit(module: &str) -> Option<&'static str> {
    FLOORS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| module == *name || module.starts_with(&format!("{name}::")))
        .max_by_key(|name| name.len())
}

fn floor(unit: &str) -> u8 {
    FLOORS
        .iter()
        .find(|(name, _)| *name == unit)
        .map_or(0, |(_, f)| *f)
}

/// `src/api/mod.rs` → `api`, `src/providers/aipix/tests.rs` → `providers::aipix::tests`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|part| part != "mod")
        .collect();
    parts.join("::")
}

/// The code of a file without its comments (line comments, doc comments
/// included; the code has no block comments) and string literals' text.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut previous = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_string && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && previous != '\\' {
                in_string = !in_string;
            }
            if !in_string {
                kept.push(c);
            }
            previous = if previous == '\\' && c == '\\' { ' ' } else { c };
            i += 1;
        }
        code.push_str(&kept);
        code.push('\n');
    }
    code
}

/// The modules a file's code names through `crate::` paths.
fn named(code: &str) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `token_vendor_crate::`
        }
        let rest = &code[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        assert!(
            !path.is_empty(),
            "a `crate::{{...}}` group: name one module per `use` line"
        );
        modules.insert(path.trim_end_matches(':').to_owned());
    }
    modules
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Unit → the units it names, from the crate's own sources.
fn edges() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut edges: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for file in all {
        let module = module_of(&src, &file);
        // The binary is its own crate; the root only declares and re-exports.
        if module == "main" || module == "lib" {
            continue;
        }
        let from = unit(&module).unwrap_or_else(|| panic!("{module} is on no floor: add it to FLOORS"));
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        for path in named(&code) {
            let to =
                unit(&path).unwrap_or_else(|| panic!("{module} names crate::{path}, which is on no floor"));
            if to != from {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    edges
}

#[test]
fn every_import_points_down_or_sideways() {
    let mut upward = Vec::new();
    for (from, tos) in edges() {
        for to in tos {
            if floor(to) < floor(from) {
                upward.push(format!(
                    "{from} (floor {}) names {to} (floor {})",
                    floor(from),
                    floor(to)
                ));
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn no_two_units_name_each_other_even_through_others() {
    let edges = edges();
    // Depth-first search; a unit met again on the current path is a cycle.
    fn visit<'a>(
        unit: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<String> {
        if let Some(start) = path.iter().position(|u| *u == unit) {
            let mut cycle = path[start..].to_vec();
            cycle.push(unit);
            return Some(cycle.join(" -> "));
        }
        if !done.insert(unit) {
            return None;
        }
        path.push(unit);
        for next in edges.get(unit).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for unit in edges.keys() {
        if let Some(cycle) = visit(unit, &edges, &mut Vec::new(), &mut done) {
            panic!("import cycle: {cycle}");
        }
    }
}

#[test]
fn the_checks_see_an_upward_import_and_a_cycle() {
    // The parser itself: a `use`, an inline path, and what it must skip.
    let code = code_of(
        "use crate::api::cors::{AllowedOrigins};\n// use crate::cold_start;\nlet x = crate::jwt::expiry(t); let s = \"crate::quota\";\n",
    );
    let found: Vec<String> = named(&code).into_iter().collect();
    assert_eq!(found, ["api::cors", "jwt::expiry"]);
    assert_eq!(unit("providers::cas::tests"), Some("providers::cas"));
    assert_eq!(unit("providers"), Some("providers"));
    assert_eq!(unit("api::cors"), Some("api"));
    assert!(floor("api") < floor("rooms") && floor("rooms") < floor("error"));
}
