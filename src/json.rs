//! JSON's own whitespace, which request bodies may be made of.

/// Whether a body is empty or JSON's whitespace only (space, tab, line
/// feed, carriage return; not form feed, which `is_ascii_whitespace` takes).
pub(crate) fn is_json_whitespace(body: &[u8]) -> bool {
    body.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}
