//! `idelta`: one command line for the idelta ledger node, its DIDs and
//! (later) the multi-tenant agent, as design.md §9 fixes it.
//!
//! Each subcommand group lives in its own module under [`cli`]; what they
//! share (key files, signing and submitting transactions) is `cli::tx`.
//! Logs go to stderr (`RUST_LOG`, `--log-format`), so stdout carries only
//! what scripts capture.

mod cli;

use clap::Parser as _;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.log_format);
    match cli::run(args.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
