//! The binary's own configuration check, for many environments at once: each
//! line of standard input is a JSON object of environment variables; each
//! answer line is `ok`, or the variable the configuration refuses (the
//! variable `token-vendor` would name at start, before failing).
//!
//! `tests/template/check_parameters.py` feeds it every value it gives the
//! template's parameters, so template and binary are checked on the same
//! values.
//!
//!     cargo run --quiet --example check_config < environments.jsonl

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};

use token_vendor::Config;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let vars: HashMap<String, String> = serde_json::from_str(&line?)?;
        match Config::from_lookup(|name| vars.get(name).cloned()) {
            Ok(_) => writeln!(stdout, "ok")?,
            Err(error) => writeln!(stdout, "{}", error.variable)?,
        }
        stdout.flush()?;
    }
    Ok(())
}
