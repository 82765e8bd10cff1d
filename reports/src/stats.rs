//! Summaries of repeated runs: mean ± sample standard deviation over seeds, as the tables print
//! them (the paper reports single runs; we report every seed we have).

/// Mean, sample standard deviation (n − 1; `None` for one run) and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation; `None` when `n == 1`.
    pub sd: Option<f64>,
    /// Number of values.
    pub n: usize,
}

impl Summary {
    /// Summarises `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        Some(Summary { mean, sd, n })
    }

    /// `91.23 ± 0.45 (n=3)`, or `91.23 (n=1)` for one run.
    pub fn format(&self) -> String {
        match self.sd {
            Some(sd) => format!("{:.2} ± {:.2} (n={})", self.mean, sd, self.n),
            None => format!("{:.2} (n={})", self.mean, self.n),
        }
    }
}

/// A signed difference with two decimals: `+1.20`, `-3.05`.
pub fn format_diff(d: f64) -> String {
    format!("{d:+.2}")
}
