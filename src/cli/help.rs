//! `--help` with the numbers the options really default to here: the board profile's (the one
//! `--board NAME` names, else the detected one) appended to the help of each option whose default
//! comes from it, in the commands that search.
use clap::{Arg, Command, CommandFactory};
use leann_edge::boards::Board;

/// Commands whose search options default to the board's.
const SEARCHING: [&str; 4] = ["search", "bench", "serve", "mcp"];

/// The command line; when help is asked for, annotated with the board's defaults.
pub fn command(args: &[String]) -> Command {
    let cmd = super::Cli::command();
    let wants_help = args
        .iter()
        .skip(1)
        .any(|a| a == "-h" || a == "--help" || a == "help");
    if !wants_help {
        return cmd;
    }
    let board = match board_flag(args) {
        Some(name) => leann_edge::boards::get(name),
        None => leann_edge::boards::detect(),
    };
    match board {
        Ok(b) => annotate(cmd, &b),
        // An unknown --board is reported when the command runs; help stays plain.
        Err(_) => cmd,
    }
}

/// The value of `--board NAME` or `--board=NAME`, if given.
fn board_flag(args: &[String]) -> Option<&str> {
    args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--board=")
            .or_else(|| (a == "--board").then(|| args.get(i + 1).map(String::as_str))?)
    })
}

/// The board's values for the options that default to them, by argument id.
fn defaults(b: &Board) -> Vec<(&'static str, String)> {
    let p = b.search_params();
    vec![
        ("k", p.k.to_string()),
        ("ef", p.ef.to_string()),
        ("recall", p.recall.to_string()),
        ("batch", p.batch_size.to_string()),
        (
            "recompute_cache_mb",
            (b.recompute_cache_bytes() >> 20).to_string(),
        ),
    ]
}

fn annotate(cmd: Command, b: &Board) -> Command {
    let threads = [("threads", b.threads.to_string())];
    let search = defaults(b);
    cmd.mut_args(|a| with_default(a, &b.name, &threads))
        .mut_subcommands(|c| {
            if SEARCHING.contains(&c.get_name()) {
                c.mut_args(|a| with_default(a, &b.name, &search))
            } else {
                c
            }
        })
}

fn with_default(a: Arg, board: &str, values: &[(&str, String)]) -> Arg {
    let Some((_, v)) = values.iter().find(|(id, _)| a.get_id() == *id) else {
        return a;
    };
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    a.help(format!("{help} [board {board}: {v}]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn help_shows_the_named_boards_values() {
        let a = args(&["leann-edge", "--board", "rpi-zero-2w", "search", "--help"]);
        let mut cmd = command(&a);
        let help = cmd
            .find_subcommand_mut("search")
            .unwrap()
            .render_long_help()
            .to_string();
        let zero = leann_edge::boards::get("rpi-zero-2w").unwrap();
        let want = format!("[board rpi-zero-2w: {}]", zero.search_params().ef);
        assert!(help.contains(&want), "{help}");
        assert_eq!(board_flag(&args(&["x", "--board=rpi4"])), Some("rpi4"));
        assert_eq!(board_flag(&args(&["x", "--board"])), None);
        // Without a help flag nothing is detected or changed.
        let plain = command(&args(&["leann-edge", "search", "i", "q"]));
        let mut plain = plain;
        let s = plain
            .find_subcommand_mut("search")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(!s.contains("[board "), "{s}");
    }
}
