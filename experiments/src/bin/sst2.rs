//! `sst2`: the whole distillation pipeline for GLUE Sst2 (see `--help`).
fn main() {
    experiments::cli::main(kd_core::data::Task::Sst2);
}
