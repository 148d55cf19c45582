//! The floors of `src/`: a module names only modules on its own floor or
//! below, and no two units name each other, directly or through others.
//! Edges are the `crate::` paths of each file (its `use` lines and any
//! inline path), outside comments. A unit is an entry of [`FLOORS`]: a
//! folder's files are one unit (its `mod.rs` and children may name each
//! other), except the provider seam, which is a unit apart from each
//! provider. A module that no entry covers fails the test: place it.
//! Inside a unit, two files of one folder (`mod.rs` aside) never name each
//! other either, directly or through others (`crate::` and `super::` paths):
//! what two siblings share goes one file down (`config/env.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top (1) to bottom (6). See docs/ARCHITECTURE.md, "Floors".
const FLOORS: &[(&str, u8)] = &[
    ("cold_start", 1),
    ("config", 2),
    ("runtime", 2),
    ("api", 3),
    ("providers::agora", 4),
    ("providers::twilio", 4),
    ("providers::vonage", 4),
    ("providers::aipix", 4),
    ("providers::cas", 4),
    ("providers::demo", 4),
    ("providers::livekit", 4),
    ("rooms", 4),
    ("quota", 4),
    ("metrics", 4),
    ("bans", 4),
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
    paths_after(code, "crate::").into_iter().collect()
}

/// The paths that follow `prefix` (`crate::` or `super::`) in `code`,
/// without it: `crate::config::env` gives `config::env`, and a group gives
/// one path per member (`crate::config::{env, livekit::X}` gives
/// `config::env` and `config::livekit::X`; `crate::{a, b}` gives `a` and
/// `b`). A prefix that ends a longer name (`token_vendor_crate::`, or the
/// second `super::` of `super::super::`) is skipped.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let path_char = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut paths = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        if code[..at].chars().next_back().is_some_and(path_char) {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        let path: String = rest.chars().take_while(|c| path_char(*c)).collect();
        let after = &rest[path.len()..];
        if (path.is_empty() || path.ends_with("::")) && after.starts_with('{') {
            let group = &after[1..after.find('}').unwrap_or(after.len())];
            for member in group.split(',') {
                let member: String = member.trim().chars().take_while(|c| path_char(*c)).collect();
                let member = member.trim_end_matches(':');
                if !member.is_empty() && member != "self" {
                    paths.push(format!("{path}{member}"));
                } else if member == "self" && !path.is_empty() {
                    paths.push(path.trim_end_matches(':').to_owned());
                }
            }
        } else {
            let path = path.trim_end_matches(':');
            if !path.is_empty() {
                paths.push(path.to_owned());
            }
        }
    }
    paths
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

/// The modules a file's code names through `super::` paths, as crate paths:
/// in `config/livekit.rs` (`config::livekit`), `super::env` is `config::env`.
fn named_through_super(module: &str, code: &str) -> BTreeSet<String> {
    let Some((parent, _)) = module.rsplit_once("::") else {
        return BTreeSet::new();
    };
    paths_after(code, "super::")
        .into_iter()
        .filter(|path| path != "*" && !path.starts_with("super"))
        .map(|path| format!("{parent}::{path}"))
        .collect()
}

/// File → the sibling files it names: of `(module, code)` pairs, the edges
/// between two files with the same parent module (a folder's `mod.rs`, the
/// parent itself, is no sibling; nor are top-level files, which are units).
fn sibling_edges(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<&str> = files.iter().map(|(module, _)| module.as_str()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in files {
        let Some((parent, _)) = module.rsplit_once("::") else {
            continue;
        };
        let prefix = format!("{parent}::");
        for path in named(code).into_iter().chain(named_through_super(module, code)) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let sibling = format!("{prefix}{}", rest.split("::").next().unwrap_or_default());
            if sibling != *module && modules.contains(sibling.as_str()) {
                edges.entry(module.clone()).or_default().insert(sibling);
            }
        }
    }
    edges
}

/// A cycle of `edges`, as `a -> b -> a`, if there is one (depth-first; a
/// node met again on the current path closes a cycle).
fn cycle<S: AsRef<str> + Ord>(edges: &BTreeMap<S, BTreeSet<S>>) -> Option<String> {
    fn visit<'a, S: AsRef<str> + Ord>(
        node: &'a S,
        edges: &'a BTreeMap<S, BTreeSet<S>>,
        path: &mut Vec<&'a S>,
        done: &mut BTreeSet<&'a S>,
    ) -> Option<String> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<&str> = path[start..].iter().map(|n| n.as_ref()).collect();
            cycle.push(node.as_ref());
            return Some(cycle.join(" -> "));
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// Every file of `src/` but the binary and the root: its module and code.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.iter()
        .map(|file| {
            let module = module_of(&src, file);
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            (module, code)
        })
        .filter(|(module, _)| module != "main" && module != "lib")
        .collect()
}

/// Unit → the units it names, from the crate's own sources.
fn edges() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let mut edges: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for (module, code) in sources() {
        let from = unit(&module).unwrap_or_else(|| panic!("{module} is on no floor: add it to FLOORS"));
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
    if let Some(cycle) = cycle(&edges()) {
        panic!("import cycle: {cycle}");
    }
}

#[test]
fn no_two_files_of_one_folder_name_each_other_even_through_others() {
    let edges = sibling_edges(&sources());
    // The check sees the folders' real edges (config's files name env).
    assert!(
        edges
            .get("config::livekit")
            .is_some_and(|to| to.contains("config::env")),
        "{edges:?}"
    );
    if let Some(cycle) = cycle(&edges) {
        panic!("import cycle between files of one folder: {cycle}");
    }
}

#[test]
fn the_checks_see_an_upward_import_and_a_cycle() {
    // The parser itself: a `use`, an inline path, and what it must skip.
    let code = code_of(
        "use crate::api::cors::{AllowedOrigins};\n// use crate::cold_start;\nlet x = crate::jwt::expiry(t); let s = \"crate::quota\";\n",
    );
    let found: Vec<String> = named(&code).into_iter().collect();
    assert_eq!(found, ["api::cors::AllowedOrigins", "jwt::expiry"]);
    assert_eq!(unit("providers::cas::tests"), Some("providers::cas"));
    assert_eq!(unit("providers"), Some("providers"));
    assert_eq!(unit("api::cors"), Some("api"));
    assert!(floor("api") < floor("rooms") && floor("rooms") < floor("error"));
    // Two sibling files naming each other (one through `super::`), as
    // config/livekit.rs and config/providers.rs once did: a cycle; a file
    // naming its folder's mod.rs, or a child its parent: none.
    let files = |a: &str, b: &str| {
        vec![
            ("config::livekit".to_owned(), code_of(a)),
            ("config::providers".to_owned(), code_of(b)),
            (
                "config".to_owned(),
                code_of("use crate::config::livekit::livekit;"),
            ),
            ("config::tests".to_owned(), code_of("use super::*;")),
        ]
    };
    let cyclic = sibling_edges(&files(
        "use crate::config::providers::check_base_url;",
        "use super::livekit::livekit;",
    ));
    assert_eq!(
        cycle(&cyclic).as_deref(),
        Some("config::livekit -> config::providers -> config::livekit")
    );
    // Grouped imports name each member.
    let grouped = sibling_edges(&files(
        "use crate::config::{env, providers::check_base_url};",
        "use super::{env::Env, livekit};",
    ));
    assert!(cycle(&grouped).is_some(), "{grouped:?}");
    let fine = sibling_edges(&files(
        "use crate::config::env::check_base_url;",
        "use crate::config::Mode;",
    ));
    assert_eq!(cycle(&fine), None);
}
