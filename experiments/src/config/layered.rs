//! Layered YAML configs: a config may start with `extends: <file>` (a path relative to its own
//! file) and then state only what differs; the files are deep-merged, parent first (mappings
//! merge key by key, anything else — lists included — is replaced). Cycles are rejected. The
//! `--smoke` flag applies one more layer, the overlay file `smoke.yaml`.

use anyhow::{bail, Context, Result};
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// The configs shipped with the binaries, compiled in (file name → text), so that `extends`
/// resolves even when the binary runs away from the source tree.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("sst2.yaml", include_str!("../../configs/sst2.yaml")),
    (
        "sst2-paper.yaml",
        include_str!("../../configs/sst2-paper.yaml"),
    ),
    (
        "sst2-ablations.yaml",
        include_str!("../../configs/sst2-ablations.yaml"),
    ),
    (
        "sst2-paper-gpu.yaml",
        include_str!("../../configs/sst2-paper-gpu.yaml"),
    ),
    (
        "sst2-cells-speedup.yaml",
        include_str!("../../configs/sst2-cells-speedup.yaml"),
    ),
    (
        "sst2-ablations-converged.yaml",
        include_str!("../../configs/sst2-ablations-converged.yaml"),
    ),
    (
        "sst2-ablations-converged-extras.yaml",
        include_str!("../../configs/sst2-ablations-converged-extras.yaml"),
    ),
    (
        "sst2-dose.yaml",
        include_str!("../../configs/sst2-dose.yaml"),
    ),
    (
        "sst2-teachers.yaml",
        include_str!("../../configs/sst2-teachers.yaml"),
    ),
    ("qqp.yaml", include_str!("../../configs/qqp.yaml")),
    ("mnli.yaml", include_str!("../../configs/mnli.yaml")),
    ("smoke.yaml", include_str!("../../configs/smoke.yaml")),
];

/// The smoke overlay's text.
pub const SMOKE_OVERLAY: &str = include_str!("../../configs/smoke.yaml");

/// Where a config's text comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk; `extends` is relative to its directory.
    File(PathBuf),
    /// One of [`EMBEDDED`]; `extends` names another embedded file.
    Embedded(&'static str),
}

impl Source {
    fn read(&self) -> Result<String> {
        match self {
            Source::File(p) => {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            }
            Source::Embedded(name) => EMBEDDED
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.to_string())
                .with_context(|| format!("no built-in config named {name}")),
        }
    }

    fn parent(&self, extends: &str) -> Source {
        match self {
            Source::File(p) => {
                Source::File(p.parent().unwrap_or_else(|| Path::new(".")).join(extends))
            }
            Source::Embedded(_) => {
                let name = Path::new(extends)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(extends);
                match EMBEDDED.iter().find(|(n, _)| *n == name) {
                    Some((n, _)) => Source::Embedded(n),
                    None => Source::File(PathBuf::from(extends)),
                }
            }
        }
    }

    fn label(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Embedded(n) => format!("built-in {n}"),
        }
    }

    fn identity(&self) -> String {
        match self {
            Source::File(p) => std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string(),
            Source::Embedded(n) => format!("embedded:{n}"),
        }
    }
}

/// Reads `source` and every file it extends, and returns the merged YAML (without `extends`).
pub fn load(source: &Source) -> Result<Value> {
    let mut chain: Vec<String> = Vec::new();
    load_inner(source, &mut chain)
}

fn load_inner(source: &Source, chain: &mut Vec<String>) -> Result<Value> {
    let id = source.identity();
    if chain.contains(&id) {
        chain.push(id);
        bail!("config `extends` cycle: {}", chain.join(" -> "));
    }
    chain.push(id);
    let text = source.read()?;
    let mut value: Value =
        serde_yaml::from_str(&text).with_context(|| source.label().to_string())?;
    let Value::Mapping(map) = &mut value else {
        bail!("{}: a config must be a YAML mapping", source.label());
    };
    let merged = match map.remove("extends") {
        None => value,
        Some(Value::String(parent)) => {
            let base = load_inner(&source.parent(&parent), chain)
                .with_context(|| format!("{} extends {parent}", source.label()))?;
            merge(base, value)
        }
        Some(other) => bail!(
            "{}: `extends` must be a file name, got {other:?}",
            source.label()
        ),
    };
    chain.pop();
    Ok(merged)
}

/// Deep merge: `over`'s mappings merge into `base`'s key by key; any other value replaces.
pub fn merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            // In place: a key keeps its position (variants run in the order the parent lists them).
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => {
                        let old = std::mem::replace(slot, Value::Null);
                        *slot = merge(old, v);
                    }
                    None => {
                        b.insert(k, v);
                    }
                }
            }
            Value::Mapping(b)
        }
        (_, over) => over,
    }
}

/// Applies the smoke overlay: merged into the config, and its `students.train` and `augment`
/// blocks also into every student variant's own `train` overrides and every transfer-set
/// variant's `augment` overrides, so that the overlay caps every student whatever it says.
pub fn apply_overlay(config: Value, overlay_text: &str) -> Result<Value> {
    let overlay: Value = serde_yaml::from_str(overlay_text).context("the smoke overlay")?;
    let mut merged = merge(config, overlay.clone());
    let pick = |path: &[&str]| -> Option<Value> {
        let mut v = &overlay;
        for key in path {
            v = v.get(key)?;
        }
        Some(v.clone())
    };
    let train = pick(&["students", "train"]);
    let augment = pick(&["augment"]);
    if let Some(Value::Mapping(variants)) = merged
        .get_mut("students")
        .and_then(|s| s.get_mut("variants"))
    {
        for (_, variant) in variants.iter_mut() {
            let Value::Mapping(v) = variant else { continue };
            // Augmentation settings belong to transfer-set variants only.
            let transfer = v.get("data").and_then(Value::as_str) == Some("transfer");
            for (key, layer) in [("train", &train), ("augment", &augment)] {
                if key == "augment" && !transfer {
                    continue;
                }
                if let Some(layer) = layer {
                    let old = v
                        .remove(key)
                        .unwrap_or_else(|| Value::Mapping(Mapping::new()));
                    v.insert(key.into(), merge(old, layer.clone()));
                }
            }
        }
    }
    Ok(merged)
}

/// The overlay as `--help` shows it: its YAML without comment lines.
pub fn overlay_help(overlay_text: &str) -> String {
    overlay_text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn merge_is_deep_for_mappings_and_replaces_the_rest() {
        let base = yaml("a: {x: 1, y: [1, 2]}\nb: 2");
        let over = yaml("a: {y: [3], z: 4}\nc: 5");
        assert_eq!(
            merge(base, over),
            yaml("a: {x: 1, y: [3], z: 4}\nb: 2\nc: 5")
        );
    }

    #[test]
    fn merge_keeps_the_parent_order_of_keys() {
        let out = merge(yaml("a: {x: 1}\nb: {x: 2}\nc: 3"), yaml("a: {x: 9}\nd: 4"));
        let keys: Vec<&str> = out
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
    }

    #[test]
    fn extends_chains_and_rejects_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("base.yaml"), "a: 1\nb: {c: 2, d: 3}\n").unwrap();
        std::fs::write(p("mid.yaml"), "extends: base.yaml\nb: {d: 4}\n").unwrap();
        std::fs::write(p("top.yaml"), "extends: mid.yaml\na: 9\n").unwrap();
        assert_eq!(
            load(&Source::File(p("top.yaml"))).unwrap(),
            yaml("a: 9\nb: {c: 2, d: 4}")
        );
        std::fs::write(p("x.yaml"), "extends: y.yaml\n").unwrap();
        std::fs::write(p("y.yaml"), "extends: x.yaml\n").unwrap();
        let err = format!("{:#}", load(&Source::File(p("x.yaml"))).unwrap_err());
        assert!(err.contains("cycle"), "{err}");
        std::fs::write(p("self.yaml"), "extends: self.yaml\n").unwrap();
        assert!(load(&Source::File(p("self.yaml"))).is_err());
    }

    #[test]
    fn the_overlay_reaches_every_variant() {
        let cfg = yaml(
            "students:\n  train: {epochs: 10}\n  variants:\n    a: {train: {epochs: 5}}\n    b: {data: transfer}\n",
        );
        let out = apply_overlay(
            cfg,
            "students: {train: {epochs: 2}}\naugment: {n_iter: 2}\n",
        )
        .unwrap();
        let v = &out["students"]["variants"];
        assert_eq!(v["a"]["train"]["epochs"], Value::from(2));
        assert_eq!(v["b"]["train"]["epochs"], Value::from(2));
        assert_eq!(v["b"]["augment"]["n_iter"], Value::from(2));
        assert!(
            v["a"].get("augment").is_none(),
            "train-data variants take no augment keys"
        );
        assert_eq!(out["students"]["train"]["epochs"], Value::from(2));
    }

    #[test]
    fn every_embedded_config_resolves() {
        for (name, _) in EMBEDDED {
            load(&Source::Embedded(name)).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }
}
