//! JSON's own whitespace, which request bodies may be made of, and the
//! POST body every signing provider reads: empty, or one JSON object.

/// Whether a body is empty or JSON's whitespace only (space, tab, line
/// feed, carriage return; not form feed, which `is_ascii_whitespace` takes).
pub(crate) fn is_json_whitespace(body: &[u8]) -> bool {
    body.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A POST body read into `T`: empty (JSON whitespace) is `T::default()`,
/// else a JSON object (serde would also read a struct from an array), or
/// `refused`.
pub(crate) fn object_or_empty<'a, T, E>(body: &'a [u8], refused: impl Fn() -> E) -> Result<T, E>
where
    T: Default + serde::Deserialize<'a>,
{
    if is_json_whitespace(body) {
        return Ok(T::default());
    }
    let first = body
        .iter()
        .find(|b| !is_json_whitespace(std::slice::from_ref(*b)));
    if first != Some(&b'{') {
        return Err(refused());
    }
    serde_json::from_slice(body).map_err(|_| refused())
}
