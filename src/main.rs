//! The `switchboard` binary: parse the command line, set up logging and configuration, and
//! hand over to the library.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = switchboard::cli::Cli::parse();
    switchboard::telemetry::init();
    let config = match switchboard::config::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("switchboard: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(switchboard::cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<switchboard::cli::ProviderCheckFailed>() => e
            .downcast::<switchboard::cli::ProviderCheckFailed>()
            .map_or(ExitCode::FAILURE, |f| f.0),
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}
