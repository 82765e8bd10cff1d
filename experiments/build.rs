//! Bakes into the binaries what their provenance records but the running process cannot tell:
//! - the version of the libtorch they were built against (`$LIBTORCH/build-version`, as
//!   `KD_LIBTORCH_VERSION`);
//! - the revision they were built from (`KD_BUILD_REV`): `KD_GIT_REV` when the build is given one
//!   (e.g. `docker build --build-arg GIT_REV=...`: a build context has no `.git`, and `KD_GIT_REV`
//!   stays the fallback of the runtime revision too), else the checkout's short `HEAD`, with
//!   `-dirty` when its Rust sources (`*.rs`, `Cargo.toml`s, `Cargo.lock`) differ from it, else
//!   `unknown`. The runtime revision (`results::git_rev`) is the checkout's when a stage finishes;
//!   a binary built before a commit and run after it records both, so the two can be told apart.

use std::path::Path;
use std::process::Command;

/// The pathspecs whose changes make a build's revision dirty (git wildcards match across `/`).
const SOURCES: [&str; 3] = ["*.rs", "*Cargo.toml", "Cargo.lock"];

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=KD_GIT_REV");
    let version = std::env::var("LIBTORCH")
        .ok()
        .map(|dir| Path::new(&dir).join("build-version"))
        .and_then(|path| {
            println!("cargo:rerun-if-changed={}", path.display());
            std::fs::read_to_string(path).ok()
        })
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KD_LIBTORCH_VERSION={version}");
    let given = std::env::var("KD_GIT_REV").ok().filter(|r| !r.is_empty());
    let rev = given
        .or_else(checkout_rev)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KD_BUILD_REV={rev}");
}

/// The workspace root, where `git` runs.
fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `git` in the workspace root; its trimmed stdout when it succeeds.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .current_dir(root())
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The checkout's revision, after telling cargo to rerun this script when it can change: on a
/// commit or checkout (HEAD, its branch's ref, the packed refs, the index) and on an edit of a
/// tracked source file.
fn checkout_rev() -> Option<String> {
    let rev = git(&["rev-parse", "--short", "HEAD"]).filter(|r| !r.is_empty())?;
    let mut watched = vec!["HEAD".to_string(), "packed-refs".into(), "index".into()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        // A path that does not exist would rerun this script on every build.
        let path = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]);
        if let Some(path) = path.filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    // `ls-files` names them relative to where it runs.
    let tracked = git(&[&["ls-files", "--"][..], &SOURCES[..]].concat()).unwrap_or_default();
    for file in tracked.lines() {
        println!("cargo:rerun-if-changed={}", root().join(file).display());
    }
    let status = [
        &["status", "--porcelain", "--untracked-files=no", "--"][..],
        &SOURCES[..],
    ];
    let dirty = git(&status.concat()).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{rev}-dirty") } else { rev })
}
