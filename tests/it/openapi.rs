//! openapi.yaml and the code in step: every route the vendor answers is in
//! `paths` with exactly its methods, and the error object's `code` enum is
//! exactly the codes the vendor can answer. (Schemathesis checks the
//! behaviour against the same file: tests/contract/run.sh.)
use std::collections::BTreeSet;

use token_vendor::ERROR_CODES;
use token_vendor::ROUTES;
use yaml_rust2::{Yaml, YamlLoader};

fn description() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// Every `enum` list in the document that names `origin_not_allowed`.
fn error_code_enums(node: &Yaml, found: &mut Vec<BTreeSet<String>>) {
    match node {
        Yaml::Hash(map) => {
            for (key, value) in map {
                if key.as_str() == Some("enum")
                    && let Some(values) = value.as_vec()
                {
                    let values: BTreeSet<String> = values
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    if values.contains("origin_not_allowed") {
                        found.push(values);
                    }
                }
                error_code_enums(value, found);
            }
        }
        Yaml::Array(items) => items.iter().for_each(|item| error_code_enums(item, found)),
        _ => {}
    }
}

#[test]
fn the_description_is_openapi_3_0_3() {
    assert_eq!(description()["openapi"].as_str(), Some("3.0.3"));
}

#[test]
fn every_route_and_method_the_vendor_answers_is_described_and_nothing_else() {
    let doc = description();
    let paths = doc["paths"].as_hash().expect("paths");
    let described: BTreeSet<&str> = paths.keys().filter_map(Yaml::as_str).collect();
    let answered: BTreeSet<&str> = ROUTES.iter().map(|(path, _)| *path).collect();
    assert_eq!(described, answered);
    for (path, methods) in ROUTES {
        let operations: BTreeSet<String> = doc["paths"][path]
            .as_hash()
            .unwrap()
            .keys()
            .filter_map(Yaml::as_str)
            .filter(|k| {
                [
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ]
                .contains(k)
            })
            .map(str::to_owned)
            .collect();
        let expected: BTreeSet<String> = methods.split(", ").map(str::to_lowercase).collect();
        assert_eq!(operations, expected, "{path}");
    }
}

#[test]
fn the_error_code_enum_is_exactly_the_codes_the_vendor_answers() {
    let mut enums = Vec::new();
    error_code_enums(&description(), &mut enums);
    assert!(!enums.is_empty(), "no error code enum in openapi.yaml");
    let codes: BTreeSet<String> = ERROR_CODES.iter().map(|c| (*c).to_owned()).collect();
    for found in enums {
        assert_eq!(found, codes);
    }
}
