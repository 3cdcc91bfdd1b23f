//! The `switchboard` command. Minimal for now: only `provider check` is wired here; the
//! full CLI (serve, migrate, users, …) lands with the application.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Provider tools (live checks).
    Provider {
        #[command(subcommand)]
        command: switchboard::providers::cli::ProviderCommand,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Provider { command } => switchboard::providers::cli::run(command).await,
    }
}
