//! The C API from the outside: C programs built with `-std=c11 -Wall -Wextra -Werror -pedantic` and run
//! plain, under AddressSanitizer + UndefinedBehaviorSanitizer, and under Valgrind; the C++17 wrapper's
//! test program, plain and under the sanitizers; the Python and LuaJIT message-panel examples (on the
//! modules of bindings/, whose own tests `bindings/check.sh` runs); and the C example's Makefile. Each
//! runs against a fresh stand-in server on loopback, whose URL it gets as an argument (the panels find
//! it by discovery).
//!
//! The C programs ask for server-side WebSocket drops by printing `DROP cut` or `DROP close` on their
//! standard output; the runner here does it with [`Server::drop_websockets`].
//!
//! A tool that is missing (gcc, g++, valgrind, python3, luajit with lua-cjson, make, or the sanitizer
//! runtimes) makes its test print a loud `SKIPPED (… not found)` line and pass, unless
//! `PIECES_REQUIRE_ALL_TOOLS=1`, which CI sets: then it fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use pieces_os_client::models::SeededConversationMessage;
use pieces_os_client::server::{DropMode, FaultConfig, Server, ServerConfig};
use pieces_os_client::Transferables;

/// Longest a program may run; Valgrind slows the C programs down the most.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(300);

const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];
const CPP_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];
const SANITIZER_FLAGS: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-omit-frame-pointer",
    "-fno-sanitize-recover=all",
];

/// ASan: leaks are errors (LeakSanitizer runs at exit), so are stack use after return and bad init
/// order; the first report ends the run. The slow unwinder follows stacks through the Rust library
/// (built without frame pointers), so a report names the C API function. No suppressions file: no
/// report so far has been one that is not ours.
const ASAN_OPTIONS: &str = "detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:\
                            check_initialization_order=1:strict_init_order=1:fast_unwind_on_malloc=0:exitcode=86";
const LSAN_OPTIONS: &str = "report_objects=1:exitcode=86";
const UBSAN_OPTIONS: &str = "halt_on_error=1:print_stacktrace=1:exitcode=86";

const VALGRIND: &[&str] = &[
    "--leak-check=full",
    "--errors-for-leak-kinds=definite,indirect",
    "--show-leak-kinds=definite,indirect",
    "--error-exitcode=1",
    "--num-callers=40",
];

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The C library of the source under test (`libpieces_os_client.so`), built for this run.
///
/// The crate builds only as an rlib (so that Rust programs depending on it never build the C
/// libraries), so `cargo test` makes no shared library at all; one left in the target directory by an
/// earlier build may be of older sources. The first test that needs the library therefore asks cargo
/// itself to build it, `cargo rustc --lib --crate-type cdylib`, with the profile, target directory and
/// features (`capi` among them) of this very test build, and takes the path cargo reports. Every later
/// test of this process reuses that path. (Without extra rustc flags, cargo keeps that cdylib unit apart
/// from the test build's rlib, so the two do not rebuild each other.)
fn c_library() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(build_c_library)
}

/// The directory of [`c_library`], for `-L` and the rpath.
fn library_dir() -> &'static Path {
    c_library().parent().expect("a library file has a directory")
}

fn build_c_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps");
    let target_dir = profile_dir
        .parent()
        .expect("a profile directory is inside the target directory");
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => panic!("{} is not a profile directory", profile_dir.display()),
    };
    // The features this test build compiled the library with (the self dev-dependency turns them on).
    let features: Vec<&str> = [
        ("server", cfg!(feature = "server")),
        ("cli", cfg!(feature = "cli")),
        ("capi", cfg!(feature = "capi")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let output = Command::new(env!("CARGO"))
        .current_dir(crate_dir())
        .args([
            "rustc",
            "--lib",
            "--crate-type",
            "cdylib",
            "--message-format=json-render-diagnostics",
            "--profile",
            profile,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--features")
        .arg(features.join(","))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|err| panic!("cannot run cargo to build the C library: {err}"));
    assert!(output.status.success(), "cargo could not build the C library");
    let library = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "pieces_os_client"
                && message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "cdylib"))
        })
        .flat_map(|message| {
            let files = message["filenames"].as_array().cloned().unwrap_or_default();
            files
                .into_iter()
                .filter_map(|file| file.as_str().map(PathBuf::from))
        })
        .find(|file| file.file_name().is_some_and(|name| name == library_file_name()))
        .expect("cargo reported no cdylib for pieces_os_client");
    assert!(
        library.exists(),
        "cargo reported {} but it does not exist",
        library.display()
    );
    library
}

fn library_file_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libpieces_os_client.dylib"
    } else {
        "libpieces_os_client.so"
    }
}

/// A directory for one test's programs, private to this process (two test runs sharing a target
/// directory must not overwrite each other's executables), removed when the test passes and kept for a
/// look when it fails.
struct BuildDir(PathBuf);

impl BuildDir {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for BuildDir {
    fn drop(&mut self) {
        if !thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn build_dir(name: &str) -> BuildDir {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("c_api")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    BuildDir(dir)
}

/// Whether a tool runs; if not, either skip loudly (returns false) or, under
/// `PIECES_REQUIRE_ALL_TOOLS=1`, fail.
fn have(tool: &str, probe: &mut Command) -> bool {
    let works = probe
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if works {
        return true;
    }
    let required = std::env::var("PIECES_REQUIRE_ALL_TOOLS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{tool} not found, and PIECES_REQUIRE_ALL_TOOLS=1 requires it"
    );
    // Straight to the process's stderr, past the test harness's capture, so that it is seen.
    let line =
        format!("\n!!!!! SKIPPED ({tool} not found): set PIECES_REQUIRE_ALL_TOOLS=1 to make this fail\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

fn have_gcc() -> bool {
    have("gcc", Command::new("gcc").arg("--version"))
}

/// The sanitizer runtimes (libasan, libubsan) link: compile and run a trivial program with them.
fn have_sanitizers() -> bool {
    if !have_gcc() {
        return false;
    }
    let dir = build_dir("probe");
    let source = dir.join("probe.c");
    std::fs::write(&source, "int main(void) { return 0; }\n").unwrap();
    let exe = dir.join("probe");
    let _ = std::fs::remove_file(&exe);
    let _ = Command::new("gcc")
        .args(SANITIZER_FLAGS)
        .arg(&source)
        .arg("-o")
        .arg(&exe)
        .stderr(Stdio::null())
        .status();
    // A probe that did not link does not exist, so running it fails too.
    have(
        "the gcc sanitizer runtimes (libasan, libubsan)",
        &mut Command::new(&exe),
    )
}

/// Compiles and links one program against include/ and the test build's cdylib; `extra` (flags, or more
/// source files) goes before the source.
fn compile(compiler: &str, flags: &[&str], extra: &[&str], source: &Path, exe: &Path) {
    let lib = library_dir();
    let output = Command::new(compiler)
        .args(flags)
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg("-I")
        .arg(crate_dir().join("tests/c"))
        .arg(source)
        .arg("-o")
        .arg(exe)
        .arg("-L")
        .arg(lib)
        .arg("-lpieces_os_client")
        .arg("-pthread")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .output()
        .unwrap_or_else(|err| panic!("cannot run {compiler}: {err}"));
    assert!(
        output.status.success(),
        "{compiler} {} failed:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The servers a program talks to: a working one, one that fails every request with 500, and a
/// loopback port that refuses connections.
struct Servers {
    live: Server,
    failing: Server,
    refused_url: String,
}

impl Servers {
    fn start() -> Self {
        let live = Server::start(ServerConfig::default().with_seed_messages(5)).unwrap();
        let failing = Server::start(ServerConfig::default().with_faults(FaultConfig {
            fail_every: 1,
            ..FaultConfig::default()
        }))
        .unwrap();
        // A port that was free a moment ago: bound, then released.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Servers {
            live,
            failing,
            refused_url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The arguments every program takes: `URL REFUSED_URL FAILING_URL`.
    fn args(&self) -> [String; 3] {
        [self.live.url(), self.refused_url.clone(), self.failing.url()]
    }

    fn stop(self) {
        self.live.stop();
        self.failing.stop();
    }
}

/// What a program did.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn shown(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// Runs `command` to the end, answering its `DROP` requests; kills it and fails after
/// [`PROGRAM_TIMEOUT`].
fn spawn_and_wait(label: &str, command: Command, server: &Server) -> Finished {
    spawn_and_watch(label, command, |line| match line.trim() {
        "DROP cut" => server.drop_websockets(DropMode::Cut),
        "DROP close" => server.drop_websockets(DropMode::Close),
        _ => {}
    })
}

/// Runs `command` to the end, calling `on_line` with each line it prints as it prints it; kills it and
/// fails after [`PROGRAM_TIMEOUT`].
fn spawn_and_watch(label: &str, mut command: Command, on_line: impl Fn(&str) + Sync) -> Finished {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("{label}: cannot start: {err}"));
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let printed = Mutex::new(String::new());
    let (status, errors) = thread::scope(|scope| {
        scope.spawn(|| {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                on_line(&line);
                let mut printed = printed.lock().unwrap();
                printed.push_str(&line);
                printed.push('\n');
            }
        });
        let errors = scope.spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > PROGRAM_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        (status, errors.join().unwrap())
    });
    let stdout = printed.into_inner().unwrap();
    let Some(status) = status else {
        panic!("{label}: still running after {PROGRAM_TIMEOUT:?}, killed\n--- stdout\n{stdout}--- stderr\n{errors}");
    };
    Finished {
        status,
        stdout,
        stderr: errors,
    }
}

/// Whether a program reports its checks with a "NAME: N passed, M failed" line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Report {
    Checks,
    Plain,
}

/// Runs `command` (see [`spawn_and_wait`]) and fails unless it exited 0 and, for [`Report::Checks`],
/// reported checks that all passed.
fn run(label: &str, command: Command, server: &Server, report: Report) -> Finished {
    let started = Instant::now();
    let finished = spawn_and_wait(label, command, server);
    assert!(
        finished.status.success(),
        "{label}: {}\n{}",
        finished.status,
        finished.shown()
    );
    if report == Report::Checks {
        let summary = finished
            .stdout
            .lines()
            .find(|line| line.contains(" passed, "))
            .unwrap_or_else(|| panic!("{label}: no summary line\n{}", finished.shown()));
        assert!(
            summary.ends_with(" 0 failed"),
            "{label}: {summary}\n{}",
            finished.shown()
        );
        println!("{label}: {summary} ({:.1} s)", started.elapsed().as_secs_f64());
    }
    finished
}

/// The C test programs: every `tests/c/*.c`.
fn c_programs() -> Vec<PathBuf> {
    let mut programs: Vec<PathBuf> = std::fs::read_dir(crate_dir().join("tests/c"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "c"))
        .collect();
    programs.sort();
    assert!(programs.len() >= 3, "tests/c/*.c: {programs:?}");
    programs
}

fn wrapped(wrapper: &[&str], exe: &Path) -> Command {
    match wrapper.split_first() {
        Some((tool, tool_args)) => {
            let mut command = Command::new(tool);
            command.args(tool_args).arg(exe);
            command
        }
        None => Command::new(exe),
    }
}

/// Builds the control program that leaks one library string, runs it like the tests, and returns
/// what it printed: the tool must have caught the leak.
fn run_leak_control(flavor: &str, flags: &[&str], wrapper: &[&str], env: &[(&str, &str)]) -> Finished {
    let dir = build_dir(&format!("{flavor}-control"));
    let exe = dir.join("leaks_a_string");
    compile(
        "gcc",
        C_FLAGS,
        flags,
        &crate_dir().join("tests/c/controls/leaks_a_string.c"),
        &exe,
    );
    let servers = Servers::start();
    let mut command = wrapped(wrapper, &exe);
    command.arg(servers.live.url()).envs(env.iter().copied());
    let finished = spawn_and_wait(&format!("leaks_a_string ({flavor})"), command, &servers.live);
    servers.stop();
    assert!(
        finished.stdout.contains("leaked 1 string(s)"),
        "the control did not leak:\n{}",
        finished.shown()
    );
    assert!(
        !finished.status.success(),
        "{flavor} did not fail the control that leaks a string:\n{}",
        finished.shown()
    );
    finished
}

/// Builds every C program with `flags` and runs each, wrapped by `wrapper` (e.g. valgrind), against
/// fresh servers.
fn run_c_programs(flavor: &str, flags: &[&str], wrapper: &[&str], env: &[(&str, &str)]) -> Vec<Finished> {
    let dir = build_dir(flavor);
    let mut finished = Vec::new();
    for source in c_programs() {
        let program = source.file_stem().unwrap().to_str().unwrap().to_owned();
        let exe = dir.join(&program);
        compile("gcc", C_FLAGS, flags, &source, &exe);
        let servers = Servers::start();
        let mut command = wrapped(wrapper, &exe);
        command.args(servers.args()).envs(env.iter().copied());
        finished.push(run(
            &format!("{program} ({flavor})"),
            command,
            &servers.live,
            Report::Checks,
        ));
        servers.stop();
    }
    finished
}

#[test]
fn c_programs_pass() {
    if !have_gcc() {
        return;
    }
    run_c_programs("plain", &[], &[], &[]);
}

#[test]
fn c_programs_pass_under_address_and_undefined_behaviour_sanitizers() {
    if !have_sanitizers() {
        return;
    }
    let env = [
        ("ASAN_OPTIONS", ASAN_OPTIONS),
        ("LSAN_OPTIONS", LSAN_OPTIONS),
        ("UBSAN_OPTIONS", UBSAN_OPTIONS),
    ];
    for run in run_c_programs("sanitized", SANITIZER_FLAGS, &[], &env) {
        assert!(
            !run.stderr.contains("Sanitizer"),
            "a sanitizer reported:\n{}",
            run.stderr
        );
    }
    let control = run_leak_control("sanitized", SANITIZER_FLAGS, &[], &env);
    assert!(
        control
            .stderr
            .contains("ERROR: LeakSanitizer: detected memory leaks")
            && control.stderr.contains("pieces_messages_snapshot"),
        "LeakSanitizer did not name the leaked string:\n{}",
        control.shown()
    );
}

#[test]
fn c_programs_pass_under_valgrind_without_errors_or_leaks() {
    if !have_gcc() || !have("valgrind", Command::new("valgrind").arg("--version")) {
        return;
    }
    let valgrind: Vec<&str> = ["valgrind"].iter().chain(VALGRIND).copied().collect();
    for run in run_c_programs("valgrind", &[], &valgrind, &[]) {
        let summary = valgrind_line(&run, "ERROR SUMMARY:");
        assert!(summary.starts_with("ERROR SUMMARY: 0 errors"), "{}", run.shown());
        println!("valgrind: {summary}");
        // With no leak at all Valgrind says "All heap blocks were freed"; otherwise both must be zero.
        for kind in ["definitely lost:", "indirectly lost:"] {
            if run.stderr.contains(kind) {
                assert!(
                    valgrind_line(&run, kind).ends_with(" 0 bytes in 0 blocks"),
                    "{}",
                    run.shown()
                );
            }
        }
    }
    let control = run_leak_control("valgrind", &[], &valgrind, &[]);
    let lost = valgrind_line(&control, "definitely lost:");
    assert!(
        !lost.ends_with(" 0 bytes in 0 blocks") && control.stderr.contains("pieces_messages_snapshot"),
        "Valgrind did not see the leaked string:\n{}",
        control.shown()
    );
}

/// The text of Valgrind's line containing `key`, without the `==PID==` prefix.
fn valgrind_line<'a>(run: &'a Finished, key: &str) -> &'a str {
    let line = run
        .stderr
        .lines()
        .find(|line| line.contains(key))
        .unwrap_or_else(|| panic!("no Valgrind line with {key:?}:\n{}", run.shown()));
    line[line.find(key).unwrap()..].trim_end()
}

/// Builds the C++ wrapper's test program (tests/cpp: two translation units that include
/// `pieces_os_client.hpp`) with `flags` and runs it against fresh servers.
fn run_cpp_program(flavor: &str, flags: &[&str], env: &[(&str, &str)]) -> Finished {
    let dir = build_dir(&format!("cpp-{flavor}"));
    let exe = dir.join("raii");
    let second_unit = crate_dir().join("tests/cpp/second_unit.cpp");
    let extra: Vec<&str> = flags
        .iter()
        .copied()
        .chain([second_unit.to_str().expect("a UTF-8 path")])
        .collect();
    compile(
        "g++",
        CPP_FLAGS,
        &extra,
        &crate_dir().join("tests/cpp/raii.cpp"),
        &exe,
    );
    let servers = Servers::start();
    let mut command = Command::new(&exe);
    command.args(servers.args()).envs(env.iter().copied());
    let finished = run(
        &format!("raii.cpp ({flavor})"),
        command,
        &servers.live,
        Report::Checks,
    );
    servers.stop();
    finished
}

#[test]
fn cpp_wrapper_frees_through_raii_and_keeps_exceptions_out_of_the_library() {
    if !have("g++", Command::new("g++").arg("--version")) {
        return;
    }
    run_cpp_program("plain", &[], &[]);
}

#[test]
fn cpp_wrapper_passes_under_address_and_undefined_behaviour_sanitizers() {
    if !have("g++", Command::new("g++").arg("--version")) || !have_sanitizers() {
        return;
    }
    let env = [
        ("ASAN_OPTIONS", ASAN_OPTIONS),
        ("LSAN_OPTIONS", LSAN_OPTIONS),
        ("UBSAN_OPTIONS", UBSAN_OPTIONS),
    ];
    let finished = run_cpp_program("sanitized", SANITIZER_FLAGS, &env);
    assert!(
        !finished.stderr.contains("Sanitizer"),
        "a sanitizer reported:\n{}",
        finished.stderr
    );
}

/// How long a message-panel example runs (its own `--seconds` bound) before it stops by itself.
const PANEL_SECONDS: &str = "6";

/// Runs a message-panel example (examples/python, examples/lua) once against a stand-in, as a smoke
/// test of the example itself; the modules' own test suites (bindings/, run by `bindings/check.sh`) test
/// the modules. The example gets no URL: it finds the stand-in through discovery, limited to the
/// stand-in's port by `PIECES_OS_PORTS`. Once it has printed the current messages, a message is created
/// here, and the example must print it as a change, then stop within its time and exit with 0.
fn run_message_panel(label: &str, mut command: Command) {
    let server = Server::start(ServerConfig::default().with_seed_messages(5)).unwrap();
    let port = server.url().rsplit(':').next().unwrap().to_owned();
    command
        .env_remove("PIECES_OS_URL")
        .env("PIECES_OS_PORTS", &port)
        .env("PIECES_OS_CLIENT_LIBRARY", c_library());
    let client = pieces_os_client::Client::with_base_url(server.url()).unwrap();
    let finished = spawn_and_watch(label, command, |line| {
        if line == "5 messages" {
            let seed = SeededConversationMessage::user_text("panel-smoke", "Hello from the panel smoke");
            client.create_message(&seed, Transferables::Default).unwrap();
        }
    });
    server.stop();
    assert!(
        finished.status.success(),
        "{label}: {}\n{}",
        finished.status,
        finished.shown()
    );
    let expected_url = format!(" at http://127.0.0.1:{port}");
    for expected in [
        expected_url.as_str(),
        "5 messages",
        "+ [USER] Hello from the panel smoke",
    ] {
        assert!(
            finished.stdout.contains(expected),
            "{label}: no {expected:?}\n{}",
            finished.shown()
        );
    }
}

#[test]
fn python_message_panel_example_prints_the_messages_and_a_change() {
    if !have("python3", Command::new("python3").arg("--version")) {
        return;
    }
    let mut command = Command::new("python3");
    command
        .arg(crate_dir().join("examples/python/message_panel.py"))
        .args(["--seconds", PANEL_SECONDS])
        .env("PYTHONPATH", crate_dir().join("bindings/python/src"));
    run_message_panel("examples/python/message_panel.py", command);
}

#[test]
fn lua_message_panel_example_prints_the_messages_and_a_change() {
    if !have("luajit", Command::new("luajit").arg("-v"))
        || !have(
            "lua-cjson for luajit",
            Command::new("luajit").args(["-e", "require('cjson')"]),
        )
    {
        return;
    }
    let mut command = Command::new("luajit");
    command
        .arg(crate_dir().join("examples/lua/message_panel.lua"))
        .args(["", PANEL_SECONDS])
        .env(
            "LUA_PATH",
            format!("{}/?.lua;;", crate_dir().join("bindings/lua/lua").display()),
        );
    run_message_panel("examples/lua/message_panel.lua", command);
}

#[test]
fn c_example_builds_with_its_makefile() {
    if !have_gcc() || !have("make", Command::new("make").arg("--version")) {
        return;
    }
    // Installed, the Makefile asks pkg-config; here it gets the flags of the build tree instead.
    let dir = build_dir("example");
    let lib = library_dir().display();
    let output = Command::new("make")
        .arg("-C")
        .arg(crate_dir().join("examples/c"))
        .arg(format!(
            "PIECES_CFLAGS=-I{}",
            crate_dir().join("include").display()
        ))
        .arg(format!("PIECES_LIBS=-L{lib} -lpieces_os_client -Wl,-rpath,{lib}"))
        .arg(format!("OUT_DIR={}", dir.path().display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "make failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let servers = Servers::start();
    let mut command = Command::new(dir.join("messages"));
    command.arg(servers.live.url());
    let finished = run("examples/c/messages", command, &servers.live, Report::Plain);
    assert!(
        finished.stdout.contains("messages in the snapshot"),
        "{}",
        finished.stdout
    );
    let mut command = Command::new(dir.join("mirror"));
    command.arg(servers.live.url());
    let finished = run("examples/c/mirror", command, &servers.live, Report::Plain);
    for expected in [
        r#"synced   {"type":"synced","count":5}"#,
        "added    {",
        "Hello from the C mirror example",
        "the conversation as the mirror holds it: [{",
        r#"closed   {"type":"closed"}"#,
        "mirror example done",
    ] {
        assert!(
            finished.stdout.contains(expected),
            "{expected:?} in:\n{}",
            finished.stdout
        );
    }
    servers.stop();
}
