//! The `leann-edge` command-line tool (the subcommands live in `src/cli/`).
use clap::FromArgMatches;

/// The static (musl) build allocates through mimalloc: musl's allocator is ~3x slower here.
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

fn main() {
    // `leann-edge search ... | head`: exit quietly when the reader goes away, like other Unix tools,
    // instead of panicking in println! on EPIPE (Rust ignores SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // One malloc arena: encoder runs on short-lived worker threads, and glibc's per-thread arenas
    // each kept their own high-water mark of freed activations (docs-faq bench, 150 queries: peak
    // RSS 203 MB with the default arenas, 153 MB with one, same p50 latency).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before any other thread exists; M_ARENA_MAX takes a plain integer.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // Help shows the board's values for the options that default to them (cli/help.rs).
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // PDFs are read by this binary run as a limited child process (ingest/documents/isolate.rs):
    // a hostile PDF then kills the helper, not the build or the service.
    #[cfg(feature = "documents")]
    {
        if args.get(1).map(String::as_str) == Some(leann_edge::ingest::PDF_HELPER_ARG) {
            std::process::exit(leann_edge::ingest::pdf_helper_main(&args[2..]));
        }
        if let Ok(exe) = std::env::current_exe() {
            leann_edge::ingest::isolate_pdf_in(exe);
        }
    }
    let matches = cli::help::command(&args).get_matches();
    let parsed = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The PDF reader warns per unmapped glyph (and dumps streams): errors only, even with -v.
    let level = if parsed.global.verbose {
        "info,pdf_extract=error,lopdf=error"
    } else {
        "warn,pdf_extract=error,lopdf=error"
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();
    if let Err(e) = cli::run(parsed) {
        // One line: the error and its causes, each said once.
        let mut msg = e.to_string();
        for c in e.chain().skip(1) {
            let c = c.to_string();
            if !msg.contains(&c) {
                msg.push_str(&format!(": {c}"));
            }
        }
        // The library's stable code, when the error is the library's (docs/errors.md).
        let code = e
            .chain()
            .find_map(|c| c.downcast_ref::<leann_edge::Error>())
            .map(|le| le.code().name());
        match code {
            Some(c) => eprintln!("error[{c}]: {msg}"),
            None => eprintln!("error: {msg}"),
        }
        std::process::exit(1);
    }
}
