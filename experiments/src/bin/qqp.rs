//! `qqp`: the whole distillation pipeline for GLUE Qqp (see `--help`).
fn main() {
    experiments::cli::main(kd_core::data::Task::Qqp);
}
