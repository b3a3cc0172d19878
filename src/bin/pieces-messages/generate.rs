//! Shell completions and manual pages, generated from the clap definition in `args`, so that they
//! name every command and option the program has, and nothing else.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::args::Cli;
use super::errors::{CommandError, EXIT_OK};

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut impl Write) -> Result<u8, CommandError> {
    // clap_complete panics when its writer fails; a buffer cannot, and the one write of it below
    // reports a closed pipe like every other command.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pieces-messages", &mut script);
    out.write_all(&script)?;
    Ok(EXIT_OK)
}

/// Writes the manual page of the program, or with `dir` one page per command into that directory.
pub fn man(dir: Option<&Path>, out: &mut impl Write) -> Result<u8, CommandError> {
    match dir {
        Some(dir) => clap_mangen::generate_to(Cli::command(), dir).map_err(|err| {
            CommandError::Io(format!(
                "cannot write the manual pages into {}: {err}",
                dir.display()
            ))
        })?,
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            out.write_all(&page)?;
        }
    }
    Ok(EXIT_OK)
}
