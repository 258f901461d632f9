//! `scrm`: the operators' and developers' command line.
//!
//! One module per command group; each group's `run` returns the process exit code, so that
//! failures a script must tell apart (a bad signature, a failed verification: exit code 2)
//! are not confused with usage or I/O errors (exit code 1).
mod console;
mod demo;
mod directory;
mod ops;
mod simulate;
mod wecom;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The operators' and developers' command line of the WeCom SCRM backend.
#[derive(Debug, Parser)]
#[command(name = "scrm", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Built once per process from the arguments; boxing variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// WeCom callback crypto: decrypt what WeCom sent, encrypt what it would send.
    #[command(subcommand)]
    Wecom(wecom::WecomCommand),
    /// Send a customer-contact callback (or a URL verification) to a callback URL,
    /// encrypted and signed like WeCom.
    Simulate(simulate::SimulateArgs),
    /// DynamoDB tables (created from the one schema).
    #[command(subcommand)]
    Tables(ops::TablesCommand),
    /// Tenants (WeCom corps) and their API keys.
    #[command(subcommand)]
    Tenant(ops::TenantCommand),
    /// Web console roles of a tenant's members (`scrm console grant|revoke|list`).
    #[command(subcommand)]
    Console(console::ConsoleCommand),
    /// Directory maintenance (`scrm directory backfill-customers`).
    #[command(subcommand)]
    Directory(directory::DirectoryCommand),
    /// Demo data for the local stack (`scrm demo seed`).
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Run the fake WeCom server (with the demo corp) for the local stack.
    FakeWecom {
        /// Loopback port to listen on.
        #[arg(long, default_value_t = 8400)]
        port: u16,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Wecom(cmd) => wecom::run(cmd),
        Command::Simulate(args) => simulate::run(args).await,
        Command::Tables(cmd) => ops::tables(cmd).await.map(|()| ExitCode::SUCCESS),
        Command::Tenant(cmd) => ops::tenant(cmd).await.map(|()| ExitCode::SUCCESS),
        Command::Console(cmd) => console::run(cmd).await.map(|()| ExitCode::SUCCESS),
        Command::Directory(cmd) => directory::run(cmd).await.map(|()| ExitCode::SUCCESS),
        Command::Demo(cmd) => demo::run(cmd).await.map(|()| ExitCode::SUCCESS),
        Command::FakeWecom { port } => ops::fake_wecom(port).await.map(|()| ExitCode::SUCCESS),
    };
    finish(result)
}

/// Turns a command's outcome into the exit code: errors are printed with their causes, on
/// one line, and exit with 1.
fn finish(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
