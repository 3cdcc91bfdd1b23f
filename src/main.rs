//! The `switchboard` binary: parse the command line, set up logging and configuration, and
//! hand over to the library.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // Allocations of 1 MiB and more (argon2id's 19 MiB working memory per login) are mapped
    // and unmapped directly instead of staying in glibc's heap: without this a login storm
    // leaves hundreds of MB resident. Fixing the threshold also stops glibc from raising it.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
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
