//! `mnli`: the whole distillation pipeline for GLUE Mnli (see `--help`).
fn main() {
    experiments::cli::main(kd_core::data::Task::Mnli);
}
