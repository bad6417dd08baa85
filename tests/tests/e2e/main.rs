//! End-to-end tests of idelta (the ledger and the agent): one binary, one
//! module per area (kanidm's `DO_NOT_ADD_MORE_TESTS_HERE`: every extra test
//! file is one more link step).
//!
//! Each test starts its own node on a fresh data directory and port, so
//! they run in parallel without sharing state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agent;
mod crash;
mod interop_bbs;
mod interop_di;
mod interop_sd_jwt;
mod lifecycle;
mod log;
mod resolution;
mod web;
mod writes;
