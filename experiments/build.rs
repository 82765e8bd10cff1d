//! Bakes into the binaries what their provenance records but a machine they are copied to (a
//! container image, a cluster node) cannot tell: the version of the libtorch they were built
//! against (`$LIBTORCH/build-version`, as `KD_LIBTORCH_VERSION`), and, when the build is given
//! one, the git revision (`KD_GIT_REV`, e.g. from `docker build --build-arg GIT_REV=...`: a
//! build context has no `.git`).

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=KD_GIT_REV");
    let version = std::env::var("LIBTORCH")
        .ok()
        .map(|dir| std::path::Path::new(&dir).join("build-version"))
        .and_then(|path| {
            println!("cargo:rerun-if-changed={}", path.display());
            std::fs::read_to_string(path).ok()
        })
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KD_LIBTORCH_VERSION={version}");
}
