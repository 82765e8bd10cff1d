//! The student as an ONNX graph (opset 13), written with the prost-generated ONNX types that
//! tract-onnx ships (`tract_onnx::pb`).
//!
//! Inputs: `ids_a` int64 `[batch, seq_len_a]` (right-padded with any id; 0 = `[PAD]` is the
//! convention) and `lengths_a` int64 `[batch]` (each in `1..=seq_len_a`); the pair model adds
//! `ids_b`, `lengths_b`. Output: `logits` float `[batch, num_classes]`. Batch and lengths are
//! dynamic.
//!
//! Each sentence goes through the encoder as the student's own forward does
//! (`bilstm_student::encoder`): the embeddings (`Gather` from each table, `Concat`), ONNX's `LSTM`
//! run forward over the padded batch with the forward weights, and again over the sentence
//! reversed *within its length* (`GatherElements` with `len - 1 - t` for `t < len`, padding left
//! in place) with the `_reverse` weights; each direction's state is read at position
//! `len - 1` (a one-hot weight over time, summed: exact). Padding therefore
//! never reaches a sentence's result, for any padding length.
//!
//! That is PyTorch's packed `nn.LSTM(bidirectional=True)`, but not written as ONNX's
//! `direction="bidirectional"` with `sequence_lens`: tract (0.22 and 0.23) rejects a
//! `sequence_lens` that is not a constant equal to the padded length ("Non constant seq_len is
//! not supported", `tract-onnx/src/ops/rec/common.rs`), so that graph would run in onnxruntime
//! only. Two forward-direction `LSTM` nodes and the in-length reversal run in both, with the
//! same numbers.
//!
//! PyTorch orders an LSTM's gates i, f, g, o; ONNX i, o, f, c: [`onnx_gate_order`] permutes the
//! row blocks of `W`, `R` and both biases (`B` = `[Wb; Rb]`, `[1, 8H]`).

use crate::student_dir::{StudentDir, Tensor};
use tract_onnx::pb;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};

/// The opset the graph is written for.
pub const OPSET: i64 = 13;
/// ONNX IR version of opset 13.
pub const IR_VERSION: i64 = 7;
/// Name of the output.
pub const OUTPUT: &str = "logits";

/// The names of the graph's inputs: `[ids_a, lengths_a]`, plus `[ids_b, lengths_b]` for pairs.
pub fn input_names(pair: bool) -> Vec<&'static str> {
    let mut v = vec!["ids_a", "lengths_a"];
    if pair {
        v.extend(["ids_b", "lengths_b"]);
    }
    v
}

/// Rows of a PyTorch LSTM tensor (`[4H, ...]`, gates i, f, g, o) in ONNX's gate order (i, o, f, c).
pub fn onnx_gate_order(t: &Tensor, hidden_dim: usize) -> Vec<f32> {
    let row = t.data.len() / (4 * hidden_dim);
    let block = |g: usize| &t.data[g * hidden_dim * row..(g + 1) * hidden_dim * row];
    [0, 3, 1, 2]
        .iter()
        .flat_map(|&g| block(g).to_vec())
        .collect()
}

/// Builds nodes with unique output names.
struct Builder {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
}

impl Builder {
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attrs: Vec<pb::AttributeProto>,
    ) -> String {
        self.node_outputs(op, name, inputs, attrs, 1).remove(0)
    }

    fn node_outputs(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attrs: Vec<pb::AttributeProto>,
        outputs: usize,
    ) -> Vec<String> {
        let out: Vec<String> = (0..outputs)
            .map(|i| {
                if i == 0 {
                    name.to_string()
                } else {
                    format!("{name}:{i}")
                }
            })
            .collect();
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: out.clone(),
            name: name.to_string(),
            op_type: op.to_string(),
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    fn float(&mut self, name: &str, dims: &[usize], data: Vec<f32>) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        self.initializers.push(pb::TensorProto {
            name: name.to_string(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            raw_data: data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.to_string()
    }

    fn int64(&mut self, name: &str, dims: &[usize], data: &[i64]) -> String {
        self.initializers.push(pb::TensorProto {
            name: name.to_string(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Int64 as i32,
            raw_data: data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.to_string()
    }
}

fn attr_int(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn attr_ints(name: &str, ints: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

fn attr_str(name: &str, s: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn value_info(name: &str, elem: DataType, dims: &[Result<i64, &str>]) -> pb::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Ok(v) => dimension::Value::DimValue(*v),
                Err(p) => dimension::Value::DimParam(p.to_string()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The encoder of one side (`a` or `b`): `[batch, 2 * hidden]`.
fn encoder(b: &mut Builder, s: &StudentDir, side: &str, ids: &str, lengths: &str) -> String {
    let p = |n: &str| format!("{side}/{n}");
    // Positions t of every token, [B, T] (a cumulative sum of ones: no Shape or Range, whose
    // symbolic-dim types tract's type inference does not reconcile with int64), and, per
    // sentence, the index of the token read at each step of the backward direction: len - 1 - t
    // within the length, t (padding, never read) beyond it.
    let zeros = b.node("Mul", &p("zeros"), &[ids, "const/zero"], vec![]);
    let ones = b.node("Add", &p("ones"), &[&zeros, "const/one"], vec![]);
    let counts = b.node("CumSum", &p("counts"), &[&ones, "const/one"], vec![]);
    let positions = b.node("Sub", &p("positions"), &[&counts, "const/one"], vec![]);
    let lens_col = b.node(
        "Unsqueeze",
        &p("lengths_col"),
        &[lengths, "const/axes1"],
        vec![],
    );
    let inside = b.node("Less", &p("inside"), &[&positions, &lens_col], vec![]);
    let last_col = b.node("Sub", &p("last_col"), &[&lens_col, "const/one"], vec![]);
    let mirrored = b.node("Sub", &p("mirrored"), &[&last_col, &positions], vec![]);
    let rev_idx = b.node(
        "Where",
        &p("reverse_index"),
        &[&inside, &mirrored, &positions],
        vec![],
    );
    let ids_rev = b.node(
        "GatherElements",
        &p("ids_reversed"),
        &[ids, &rev_idx],
        vec![attr_int("axis", 1)],
    );
    // Each direction's final state is its output at t = len - 1: a one-hot weight over time
    // ([B, T, 1], 1.0 at len - 1), multiplied in and summed over T — exact, as every other term
    // is a zero. (A Gather at (len - 1) * B + b would need a batch-sized Range, which tract's
    // type inference refuses once the batch is a constant.)
    let is_last = b.node("Equal", &p("is_last"), &[&positions, &last_col], vec![]);
    let to_float = vec![attr_int("to", DataType::Float as i64)];
    let weights = b.node("Cast", &p("last_weight"), &[&is_last], to_float);
    let weights = b.node(
        "Unsqueeze",
        &p("last_weight_3d"),
        &[&weights, "const/axes2"],
        vec![],
    );
    let mut finals = Vec::new();
    for (dir, ids_dir) in [("forward", ids), ("backward", ids_rev.as_str())] {
        let q = |n: &str| format!("{side}/{dir}/{n}");
        // [T, B] so that the embeddings come out time-major, as LSTM's layout 0 wants them
        // (onnxruntime does not implement layout 1).
        let ids_t = b.node(
            "Transpose",
            &q("ids_time_major"),
            &[ids_dir],
            vec![attr_ints("perm", &[1, 0])],
        );
        let parts: Vec<String> = s
            .mode
            .tables()
            .iter()
            .map(|t| {
                let name = t
                    .trim_end_matches(".weight")
                    .rsplit('.')
                    .next()
                    .unwrap_or(t);
                b.node(
                    "Gather",
                    &q(&format!("embed_{name}")),
                    &[t, &ids_t],
                    vec![attr_int("axis", 0)],
                )
            })
            .collect();
        let x = if parts.len() == 1 {
            parts[0].clone()
        } else {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            b.node("Concat", &q("embed"), &refs, vec![attr_int("axis", 2)])
        };
        let suffix = if dir == "forward" { "" } else { "_reverse" };
        let [w, r, bias] = [
            format!("encoder.lstm.W{suffix}"),
            format!("encoder.lstm.R{suffix}"),
            format!("encoder.lstm.B{suffix}"),
        ];
        let y = b.node(
            "LSTM",
            &q("lstm"),
            &[&x, &w, &r, &bias],
            vec![
                attr_int("hidden_size", s.hidden_dim as i64),
                attr_str("direction", "forward"),
            ],
        );
        // Y [T, 1, B, H] -> [B, T, H].
        let states = b.node("Squeeze", &q("states"), &[&y, "const/axes1"], vec![]);
        let states = b.node(
            "Transpose",
            &q("states_batch_major"),
            &[&states],
            vec![attr_ints("perm", &[1, 0, 2])],
        );
        let picked = b.node("Mul", &q("final_only"), &[&states, &weights], vec![]);
        finals.push(b.node(
            "ReduceSum",
            &q("final"),
            &[&picked, "const/axes1"],
            vec![attr_int("keepdims", 0)],
        ));
    }
    b.node(
        "Concat",
        &p("sentence"),
        &[&finals[0], &finals[1]],
        vec![attr_int("axis", 1)],
    )
}

/// The ONNX model of `s`, with `metadata` as the model's metadata properties.
pub fn build(s: &StudentDir, metadata: &[(String, String)]) -> pb::ModelProto {
    let h = s.hidden_dim;
    let mut b = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    // Weights, under the PyTorch names where the tensor is the same; the LSTM's in ONNX's layout.
    for t in s.mode.tables() {
        let w = s.tensor(t);
        b.float(t, &w.shape, w.data.clone());
    }
    let input_dim = s.embedding_dim * s.mode.tables().len();
    for suffix in ["", "_reverse"] {
        let get = |n: &str| onnx_gate_order(s.tensor(&format!("encoder.lstm.{n}_l0{suffix}")), h);
        b.float(
            &format!("encoder.lstm.W{suffix}"),
            &[1, 4 * h, input_dim],
            get("weight_ih"),
        );
        b.float(
            &format!("encoder.lstm.R{suffix}"),
            &[1, 4 * h, h],
            get("weight_hh"),
        );
        let mut bias = get("bias_ih");
        bias.extend(get("bias_hh"));
        b.float(&format!("encoder.lstm.B{suffix}"), &[1, 8 * h], bias);
    }
    for n in ["fc.weight", "fc.bias", "out.weight", "out.bias"] {
        let t = s.tensor(n);
        b.float(n, &t.shape, t.data.clone());
    }
    b.int64("const/zero", &[], &[0]);
    b.int64("const/one", &[], &[1]);
    b.int64("const/axes1", &[1], &[1]);
    b.int64("const/axes2", &[1], &[2]);

    let names = input_names(s.pair);
    let ha = encoder(&mut b, s, "a", names[0], names[1]);
    let features = if s.pair {
        let hb = encoder(&mut b, s, "b", names[2], names[3]);
        let prod = b.node("Mul", "pair/product", &[&ha, &hb], vec![]);
        let diff = b.node("Sub", "pair/difference", &[&ha, &hb], vec![]);
        let abs = b.node("Abs", "pair/abs_difference", &[&diff], vec![]);
        b.node(
            "Concat",
            "pair/features",
            &[&ha, &hb, &prod, &abs],
            vec![attr_int("axis", 1)],
        )
    } else {
        ha
    };
    let fc = b.node(
        "Gemm",
        "fc",
        &[&features, "fc.weight", "fc.bias"],
        vec![attr_int("transB", 1)],
    );
    let relu = b.node("Relu", "fc/relu", &[&fc], vec![]);
    b.nodes.push(pb::NodeProto {
        input: vec![relu, "out.weight".into(), "out.bias".into()],
        output: vec![OUTPUT.into()],
        name: "out".into(),
        op_type: "Gemm".into(),
        attribute: vec![attr_int("transB", 1)],
        ..Default::default()
    });

    let mut inputs = Vec::new();
    for side in if s.pair { vec!["a", "b"] } else { vec!["a"] } {
        let seq = format!("seq_len_{side}");
        inputs.push(value_info(
            &format!("ids_{side}"),
            DataType::Int64,
            &[Err("batch"), Err(&seq)],
        ));
        inputs.push(value_info(
            &format!("lengths_{side}"),
            DataType::Int64,
            &[Err("batch")],
        ));
    }
    let graph = pb::GraphProto {
        node: b.nodes,
        name: "bilstm_student".into(),
        initializer: b.initializers,
        doc_string: "The BiLSTM student of Tang et al. 2019 (arXiv 1903.12136): embeddings, \
                     one-layer BiLSTM (final states at each sentence's length), ReLU layer, \
                     classifier."
            .into(),
        input: inputs,
        output: vec![value_info(
            OUTPUT,
            DataType::Float,
            &[Err("batch"), Ok(s.num_classes as i64)],
        )],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "bert-bilstm-distill student-onnx".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| pb::StringStringEntryProto {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_move_from_ifgo_to_iofc() {
        // H = 1, one column: rows i, f, g, o = 0, 1, 2, 3.
        let t = Tensor {
            shape: vec![4, 1],
            data: vec![0.0, 1.0, 2.0, 3.0],
        };
        assert_eq!(onnx_gate_order(&t, 1), [0.0, 3.0, 1.0, 2.0]);
        // H = 2, bias: blocks of two.
        let t = Tensor {
            shape: vec![8],
            data: vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5],
        };
        assert_eq!(
            onnx_gate_order(&t, 2),
            [0.0, 0.5, 3.0, 3.5, 1.0, 1.5, 2.0, 2.5]
        );
    }
}
