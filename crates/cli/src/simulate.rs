//! `gigawatt simulate`.
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Scenario file.
    pub file: std::path::PathBuf,
}

pub fn run(_args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
