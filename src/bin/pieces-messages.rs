//! `pieces-messages`: the conversation messages of PiecesOS from the command line.
//!
//! Run `pieces-messages --help` for the commands; `docs/connecting-and-cli.md` describes them with their
//! output and exit codes. The code lives in `src/cli/`, which only this program compiles (the library
//! and its C API carry none of it).

#[path = "../cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
