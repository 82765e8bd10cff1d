//! `BertModel` and `BertForSequenceClassification`: the public forward passes, with shape and
//! id-range checks at the entry point. Port of the classes of the same names in transformers'
//! `modeling_bert.py`.

use super::embeddings::BertEmbeddings;
use super::encoder::BertEncoder;
use super::pooler::BertPooler;
use super::pooling::{masked_mean, Pooling};
use super::{BertConfig, Dense};
use crate::error::{Result, TeacherError};
use tch::{nn, nn::Module, Tensor};

/// One padded batch of token ids, all `[batch_size, seq_len]` int64 on the model's device.
#[derive(Debug)]
pub struct BertInput {
    /// Word-piece ids.
    pub input_ids: Tensor,
    /// Segment ids (0 for the first sentence, 1 for the second).
    pub token_type_ids: Tensor,
    /// 1 on real tokens, 0 on padding.
    pub attention_mask: Tensor,
}

/// What [`BertModel::forward_t`] returns.
#[derive(Debug)]
pub struct BertModelOutput {
    /// `[batch_size, seq_len, hidden_dim]`.
    pub last_hidden_state: Tensor,
    /// `[batch_size, hidden_dim]`, when the model has a pooler.
    pub pooler_output: Option<Tensor>,
}

/// The BERT encoder: embeddings, transformer layers, optional pooler.
#[derive(Debug)]
pub struct BertModel {
    embeddings: BertEmbeddings,
    encoder: BertEncoder,
    pooler: Option<BertPooler>,
    config: BertConfig,
}

impl BertModel {
    /// Creates `p/embeddings`, `p/encoder` and, if `add_pooling_layer`, `p/pooler`. The config
    /// must have passed [`BertConfig::validate`] (as [`BertConfig::from_file`] ensures).
    pub fn new(p: nn::Path, cfg: &BertConfig, add_pooling_layer: bool) -> Self {
        BertModel {
            embeddings: BertEmbeddings::new(&p / "embeddings", cfg),
            encoder: BertEncoder::new(&p / "encoder", cfg),
            pooler: add_pooling_layer.then(|| BertPooler::new(&p / "pooler", cfg)),
            config: cfg.clone(),
        }
    }

    /// The architecture config.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Checks shapes and id ranges of `input` (the errors name the dims and the limits).
    pub fn check_input(&self, input: &BertInput) -> Result<()> {
        let shape = input.input_ids.size();
        if shape.len() != 2 || shape[0] == 0 || shape[1] == 0 {
            return Err(TeacherError::InvalidArgument(format!(
                "input_ids must be a non-empty [batch_size, seq_len] tensor, got {shape:?}"
            )));
        }
        for (name, t) in [
            ("token_type_ids", &input.token_type_ids),
            ("attention_mask", &input.attention_mask),
        ] {
            if t.size() != shape {
                return Err(TeacherError::InvalidArgument(format!(
                    "{name} has shape {:?} but input_ids has [batch_size, seq_len] = {shape:?}",
                    t.size()
                )));
            }
        }
        let max_len = self.config.max_position_embeddings as i64;
        if shape[1] > max_len {
            return Err(TeacherError::InvalidArgument(format!(
                "seq_len {} exceeds max_position_embeddings {max_len}",
                shape[1]
            )));
        }
        for (name, t, limit) in [
            ("input_ids", &input.input_ids, self.config.vocab_size as i64),
            (
                "token_type_ids",
                &input.token_type_ids,
                self.config.type_vocab_size as i64,
            ),
        ] {
            let (lo, hi) = (t.min().int64_value(&[]), t.max().int64_value(&[]));
            if lo < 0 || hi >= limit {
                return Err(TeacherError::InvalidArgument(format!(
                    "{name} must lie in [0, {limit}), got values in [{lo}, {hi}]"
                )));
            }
        }
        Ok(())
    }

    /// Runs the encoder; `train` turns dropout on.
    pub fn forward_t(&self, input: &BertInput, train: bool) -> Result<BertModelOutput> {
        self.check_input(input)?;
        let xs = self
            .embeddings
            .forward_t(&input.input_ids, &input.token_type_ids, train);
        // HF's extended attention mask: 0 where attended, the dtype's minimum on padding.
        let additive_mask = ((input.attention_mask.to_kind(xs.kind()) - 1.0) * f64::from(f32::MAX))
            .unsqueeze(1)
            .unsqueeze(1);
        let last_hidden_state = self.encoder.forward_t(&xs, &additive_mask, train);
        let pooler_output = self.pooler.as_ref().map(|p| p.forward(&last_hidden_state));
        Ok(BertModelOutput {
            last_hidden_state,
            pooler_output,
        })
    }
}

/// BERT with a pooler and a linear classifier on the pooled [CLS] state, as HF's
/// `BertForSequenceClassification` (`bert.*` + `classifier.*`), or on the masked mean of the
/// last hidden states ([`Pooling::Mean`]; the pooler's weights are kept, unused).
#[derive(Debug)]
pub struct BertForSequenceClassification {
    bert: BertModel,
    classifier: Dense,
    dropout: f64,
    num_labels: usize,
    pooling: Pooling,
}

impl BertForSequenceClassification {
    /// Creates `p/bert` (with pooler) and `p/classifier` (`hidden_dim` → `num_labels`).
    pub fn new(p: nn::Path, cfg: &BertConfig, num_labels: usize) -> Self {
        BertForSequenceClassification {
            bert: BertModel::new(&p / "bert", cfg, true),
            classifier: Dense::new(
                &p / "classifier",
                cfg.hidden_size,
                num_labels,
                cfg.initializer_range,
            ),
            dropout: cfg.classifier_dropout_prob(),
            num_labels,
            pooling: Pooling::Cls,
        }
    }

    /// The sentence representation the classifier reads.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Sets the sentence representation the classifier reads.
    pub fn set_pooling(&mut self, pooling: Pooling) {
        self.pooling = pooling;
    }

    /// Number of output classes.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// The encoder.
    pub fn bert(&self) -> &BertModel {
        &self.bert
    }

    /// Logits, `[batch_size, num_labels]`; `train` turns dropout on.
    pub fn forward_t(&self, input: &BertInput, train: bool) -> Result<Tensor> {
        let out = self.bert.forward_t(input, train)?;
        let pooled = match self.pooling {
            Pooling::Cls => out.pooler_output.ok_or_else(|| {
                TeacherError::InvalidArgument("classification model built without a pooler".into())
            })?,
            Pooling::Mean => masked_mean(&out.last_hidden_state, &input.attention_mask),
        };
        Ok(self
            .classifier
            .forward(&pooled.dropout(self.dropout, train)))
    }
}

impl BertInput {
    /// Moves the three tensors to `device`.
    pub fn to_device(&self, device: tch::Device) -> BertInput {
        BertInput {
            input_ids: self.input_ids.to_device(device),
            token_type_ids: self.token_type_ids.to_device(device),
            attention_mask: self.attention_mask.to_device(device),
        }
    }

    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.input_ids.size()[0] as usize
    }
}
