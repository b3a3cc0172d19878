//! Generates the C header, `pieces_os_client.h`, from `src/ffi/` with cbindgen, when the `capi` feature
//! is on; without it (a Rust program that depends on the crate) this script does nothing, and cbindgen is
//! not even compiled.
//!
//! The header always goes to `$OUT_DIR/include/`, the copy that belongs to this very build (what
//! `scripts/install.sh` installs). Only in the repository checkout (a `.git` beside `Cargo.toml`) is it also
//! kept current in `include/`, where it is committed so that C users need no Rust tooling to read it; it is
//! written there only when its content changed (an unchanged header keeps its timestamp, so C builds that
//! depend on it do not rebuild). Anywhere else, as in a package unpacked from a registry or `cargo publish`'s
//! verification build, the source directory is never written. CI builds and then fails on
//! `git diff --exit-code include/`, so a header that was not committed after a change cannot land.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "capi")]
    header::generate();
}

#[cfg(feature = "capi")]
mod header {
    use std::env;
    use std::fs;
    use std::path::{Path, PathBuf};

    const FILE_NAME: &str = "pieces_os_client.h";

    pub fn generate() {
        for watched in ["src/ffi", "cbindgen.toml", "Cargo.toml"] {
            println!("cargo:rerun-if-changed={watched}");
        }
        let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
        let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
        let header = c89_compatible(&cbindgen_header(&crate_dir));

        write_if_changed(&out_dir.join("include").join(FILE_NAME), &header);
        if crate_dir.join(".git").exists() {
            write_if_changed(&crate_dir.join("include").join(FILE_NAME), &header);
        }
    }

    fn cbindgen_header(crate_dir: &Path) -> String {
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

        // Parsing from src/ffi/mod.rs (not `with_crate`) follows only the C API's `mod` tree, without
        // running `cargo metadata`: public constants elsewhere in the crate stay out of the header.
        let bindings = cbindgen::Builder::new()
            .with_config(config)
            .with_src(crate_dir.join("src/ffi/mod.rs"))
            .generate()
            .unwrap_or_else(|err| panic!("cbindgen could not generate the C header: {err}"));
        let mut generated = Vec::new();
        bindings.write(&mut generated);
        String::from_utf8(generated).expect("cbindgen writes UTF-8")
    }

    /// What C89 (`-std=c89 -pedantic`) refuses in cbindgen's output, rewritten: the `// …` comments it
    /// puts after `#endif` and the `extern "C"` brace become `/* … */`, and the comma after the last
    /// enumerator of an enum goes (C89 allows none there).
    fn c89_compatible(header: &str) -> String {
        let mut lines: Vec<String> = Vec::new();
        for line in header.lines() {
            let line = match line.split_once("// ") {
                Some((code, comment)) if is_code(line) => format!("{code}/* {comment} */"),
                _ => line.to_owned(),
            };
            if line.trim_start().starts_with("};") {
                if let Some(last) = lines.iter_mut().rev().find(|l| !l.trim().is_empty()) {
                    if last.ends_with(',') {
                        last.pop();
                    }
                }
            }
            lines.push(line);
        }
        let mut text = lines.join("\n");
        text.push('\n');
        assert!(
            !text.lines().any(|line| is_code(line) && line.contains("//")),
            "the C header has a // comment, which C89 does not allow"
        );
        text
    }

    /// Whether a line of the header is code (or a preprocessor line) rather than a line of a `/* */`
    /// block, where `//` (as in a URL) is only text.
    fn is_code(line: &str) -> bool {
        let line = line.trim_start();
        !(line.starts_with("/*") || line.starts_with('*'))
    }

    fn write_if_changed(path: &Path, content: &str) {
        if fs::read(path).ok().as_deref() == Some(content.as_bytes()) {
            return;
        }
        let dir = path.parent().expect("a header path has a directory");
        fs::create_dir_all(dir).unwrap_or_else(|err| panic!("cannot create {}: {err}", dir.display()));
        fs::write(path, content).unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    }
}
