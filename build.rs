//! Keeps `include/pieces_os_client.h` equal to what cbindgen makes of `src/ffi/`.
//!
//! The header is committed, so that C users need no Rust tooling to read it; this script regenerates it on
//! every build that touches the C API and writes the file only when its content changed (an unchanged
//! header keeps its timestamp, so C builds that depend on it do not rebuild). CI builds and then fails on
//! `git diff --exit-code include/`, so a header that was not committed after a change cannot land.

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    for watched in ["src/ffi", "cbindgen.toml", "build.rs", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .unwrap_or_else(|err| panic!("cbindgen.toml: {err}"));

    // The version macros come from Cargo.toml, so the header can never claim another version.
    let part = |name: &str| env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"));
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    );
    let version = part("CARGO_PKG_VERSION");
    config.after_includes = Some(format!(
        "\n/** The version of this header, equal to the crate version (Cargo.toml). Compare it with\n \
         * pieces_version(), the version of the library actually loaded. */\n\
         #define PIECES_OS_CLIENT_VERSION_MAJOR {major}\n\
         #define PIECES_OS_CLIENT_VERSION_MINOR {minor}\n\
         #define PIECES_OS_CLIENT_VERSION_PATCH {patch}\n\
         #define PIECES_OS_CLIENT_VERSION \"{version}\"\n"
    ));

    // Parsing from src/ffi/mod.rs (not `with_crate`) follows only the C API's `mod` tree, without running
    // `cargo metadata`: public constants elsewhere in the crate stay out of the header.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|err| panic!("cbindgen could not generate the C header: {err}"));
    let mut generated = Vec::new();
    bindings.write(&mut generated);

    let header = crate_dir.join("include").join("pieces_os_client.h");
    let current = fs::read(&header).ok();
    if current.as_deref() != Some(generated.as_slice()) {
        fs::create_dir_all(crate_dir.join("include")).expect("cannot create include/");
        fs::write(&header, &generated)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", header.display()));
    }
}
