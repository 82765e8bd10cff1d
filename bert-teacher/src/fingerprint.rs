//! A stable 64-bit FNV-1a fingerprint of a list of examples, so that resumable work directories
//! refuse to continue over different inputs instead of mixing them silently.

use kd_core::data::Example;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn feed(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Hex fingerprint of texts and labels (stable across platforms and Rust versions).
pub fn examples_fingerprint(examples: &[Example]) -> String {
    let mut hash = FNV_OFFSET;
    for ex in examples {
        hash = feed(hash, ex.text_a.as_bytes());
        hash = feed(hash, &[0xff]);
        if let Some(b) = &ex.text_b {
            hash = feed(hash, b.as_bytes());
        }
        hash = feed(hash, &[0xfe]);
        hash = feed(hash, &ex.label.map_or(u64::MAX, |l| l as u64).to_le_bytes());
    }
    format!("{hash:016x}")
}
