//! bilstm-student (being written).
