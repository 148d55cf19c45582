//! What the providers' own verifiers share: a folder under
//! `target/tmp` with npm packages, or a virtualenv with a PyPI package, each
//! made once (a lock file keeps test processes from making it twice), and
//! running their scripts, and the `{"ok": ...}` / `{"error": "..."}`
//! lines those print.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

fn tmp() -> &'static Path {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(tmp).unwrap();
    tmp
}

/// `target/tmp/<name>` with `packages` installed by npm (unless `probe`, a
/// path in it, exists) and `scripts` (file name, text) written into it.
pub(crate) fn npm_folder(name: &str, packages: &[&str], probe: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let dir = tmp().join(name);
    let lock = std::fs::File::create(tmp().join(format!("{name}.lock"))).unwrap();
    lock.lock().unwrap();
    if !dir.join(probe).exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("package.json"), r#"{"private": true, "type": "module"}"#).unwrap();
        let status = StdCommand::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .args(packages)
            .current_dir(&dir)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "npm install {packages:?} failed"
        );
    }
    for (file, text) in scripts {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// The python3 of `target/tmp/<name>`, a virtualenv with `requirement`
/// installed (unless it can already `import`), and `scripts` written into
/// the virtualenv's folder.
pub(crate) fn python_venv(name: &str, requirement: &str, import: &str, scripts: &[(&str, &str)]) -> PathBuf {
    let venv = tmp().join(name);
    let python = venv.join("bin").join("python3");
    let lock = std::fs::File::create(tmp().join(format!("{name}.lock"))).unwrap();
    lock.lock().unwrap();
    let imports = StdCommand::new(&python)
        .args(["-c", &format!("import {import}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !imports {
        let made = StdCommand::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
        let installed = StdCommand::new(&python)
            .args(["-m", "pip", "install", "--quiet", requirement])
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()),
            "pip install {requirement} failed"
        );
    }
    for (file, text) in scripts {
        std::fs::write(venv.join(file), text).unwrap();
    }
    python
}

/// `node <dir>/<script> <args>`, run in `dir` (a folder of
/// [`npm_folder`]): what it printed, as [`script_answer`] reads it.
pub(crate) fn node_script(dir: &Path, script: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    script_answer(
        &StdCommand::new("node")
            .arg(dir.join(script))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap(),
    )
}

/// `<python> <venv>/<script> <args>`, `python` a virtualenv's of
/// [`python_venv`] and `script` written into it: what it printed.
pub(crate) fn python_script(python: &Path, script: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let venv = python.parent().unwrap().parent().unwrap();
    script_answer(
        &StdCommand::new(python)
            .arg(venv.join(script))
            .args(args)
            .output()
            .unwrap(),
    )
}

/// What a script printed: `{"ok": ...}` or `{"error": "..."}`.
pub(crate) fn script_answer(output: &std::process::Output) -> Result<serde_json::Value, String> {
    let text = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
        panic!(
            "script printed {text:?}; stderr {:?}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    match value.get("ok") {
        Some(ok) => Ok(ok.clone()),
        None => Err(value["error"].as_str().unwrap_or_default().to_owned()),
    }
}
