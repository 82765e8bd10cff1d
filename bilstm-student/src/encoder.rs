//! The sentence encoder (paper §3, Fig. 1): embeddings → one-layer BiLSTM → the final forward
//! and backward hidden states, each taken at the sentence's TRUE length, concatenated.
//!
//! Ported from `torch.nn.LSTM(bidirectional=True, batch_first=True)` over a
//! `pack_padded_sequence` input, whose `h_n` this reproduces exactly. Instead of packing (which
//! makes libtorch fall back from its fused oneDNN kernel to a step-by-step loop, and gives every
//! batch a new shape) the padded batch is run twice through the fused kernel:
//!
//! - forward direction: the padded sequence as is; padding only follows the real tokens, so the
//!   output at position `len - 1` has never seen it;
//! - backward direction: each sentence reversed *within its length* (`x[len-1], ..., x[0]`,
//!   padding left at the end), run forward with the `_reverse` weights; its output at
//!   `len - 1` is PyTorch's backward `h_n`.
//!
//! Parameter names (PyTorch's): `encoder.lstm.weight_ih_l0` `[4H, in]`, `weight_hh_l0` `[4H, H]`,
//! `bias_ih_l0`, `bias_hh_l0` `[4H]`, and the same with `_reverse`; gate order i, f, g, o.

use crate::embedding::Embeddings;
use tch::{nn, Kind, Tensor};

/// One direction's four LSTM tensors, in the order `at::lstm` takes them.
#[derive(Debug)]
struct Direction {
    params: [Tensor; 4],
}

impl Direction {
    fn new(p: &nn::Path, suffix: &str, input_dim: i64, hidden_dim: i64) -> Self {
        // torch.nn.LSTM's init: every weight and bias U(-1/sqrt(H), 1/sqrt(H)).
        let k = 1.0 / (hidden_dim as f64).sqrt();
        let init = nn::Init::Uniform { lo: -k, up: k };
        let g = 4 * hidden_dim;
        Direction {
            params: [
                p.var(&format!("weight_ih_l0{suffix}"), &[g, input_dim], init),
                p.var(&format!("weight_hh_l0{suffix}"), &[g, hidden_dim], init),
                p.var(&format!("bias_ih_l0{suffix}"), &[g], init),
                p.var(&format!("bias_hh_l0{suffix}"), &[g], init),
            ],
        }
    }

    /// Runs the direction over `xs` `[batch, seq_len, in]` and returns the outputs at
    /// `last` (`[batch]`, positions `len - 1`): `[batch, H]`.
    fn final_states(&self, xs: &Tensor, last: &Tensor, hidden_dim: i64) -> Tensor {
        let batch = xs.size()[0];
        let zeros = Tensor::zeros([1, batch, hidden_dim], (xs.kind(), xs.device()));
        let hx = [zeros.shallow_clone(), zeros];
        // at::lstm's `train` flag picks oneDNN's training kernel, which keeps the workspace that
        // the backward pass needs. It is required whenever autograd records this call (also in
        // eval mode), and only then: a view of a parameter requires grad exactly when grad mode
        // is on. Dropout is 0 (one layer), so the flag changes nothing else.
        let record = self.params[3].narrow(0, 0, 1).requires_grad();
        let (out, _, _) = xs.lstm(&hx, &self.params, true, 1, 0.0, record, false, true);
        let idx = last
            .view([batch, 1, 1])
            .expand([batch, 1, hidden_dim], false);
        out.gather(1, &idx, false).squeeze_dim(1)
    }
}

/// Embeddings plus BiLSTM; shared by both sentences of the pair model.
#[derive(Debug)]
pub struct BiLstmEncoder {
    embedding: Embeddings,
    forward: Direction,
    backward: Direction,
    hidden_dim: i64,
}

impl BiLstmEncoder {
    /// Builds the LSTM under `p / "lstm"` over the given embeddings.
    pub fn new(p: nn::Path, embedding: Embeddings, hidden_dim: usize) -> Self {
        let lstm = p / "lstm";
        let input = embedding.output_dim() as i64;
        let h = hidden_dim as i64;
        BiLstmEncoder {
            forward: Direction::new(&lstm, "", input, h),
            backward: Direction::new(&lstm, "_reverse", input, h),
            embedding,
            hidden_dim: h,
        }
    }

    /// Width of the sentence vector (`2 * hidden_dim`).
    pub fn output_dim(&self) -> usize {
        2 * self.hidden_dim as usize
    }

    /// Encodes `ids` `[batch, seq_len]` (int64, right-padded) with true `lengths` `[batch]`
    /// (int64, each in `1..=seq_len`, checked by the caller) into `[batch, 2 * hidden_dim]`.
    pub fn forward(&self, ids: &Tensor, lengths: &Tensor) -> Tensor {
        let seq_len = ids.size()[1];
        let positions = Tensor::arange(seq_len, (Kind::Int64, ids.device())).unsqueeze(0);
        let lens = lengths.unsqueeze(1);
        // Reverse within the true length; padding positions map to themselves.
        let rev = (&lens - 1 - &positions).where_self(&positions.lt_tensor(&lens), &positions);
        let ids_rev = ids.gather(1, &rev, false);
        let last = lengths - 1;
        let h_fwd = self
            .forward
            .final_states(&self.embedding.forward(ids), &last, self.hidden_dim);
        let h_bwd =
            self.backward
                .final_states(&self.embedding.forward(&ids_rev), &last, self.hidden_dim);
        Tensor::cat(&[h_fwd, h_bwd], 1)
    }
}
