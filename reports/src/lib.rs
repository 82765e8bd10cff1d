//! reports (being written).
