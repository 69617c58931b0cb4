//! `leann-edge models`: where the encoder model is looked for, what is there, and whether it
//! verifies.
use super::common::Global;
use anyhow::Result;
use clap::Args;
use leann_edge::embed::tract::{
    fix_hint, known_model_dir, model_places, Checksum, TractEmbedder, KNOWN,
};
use serde_json::json;

/// Where the encoder model is looked for and whether it verifies.
#[derive(Args, Clone, Debug)]
pub struct ModelsArgs {
    /// Hash every model file now (default: a hash remembered for the same path, size and mtime is
    /// trusted).
    #[arg(long)]
    pub verify: bool,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Run `models`.
pub fn run(g: &Global, a: &ModelsArgs) -> Result<()> {
    let policy = if a.verify {
        Checksum::Always
    } else {
        Checksum::Once
    };
    let mut places: Vec<(String, std::path::PathBuf)> = Vec::new();
    if let Some(m) = &g.model {
        // A manifest model's name resolves to where it was fetched; not fetched: shown missing.
        places.push((
            "--model".into(),
            g.model_dir().unwrap_or_else(|_| m.clone()),
        ));
    }
    places.extend(
        model_places()
            .into_iter()
            .map(|p| (p.why.to_string(), p.dir)),
    );
    // `--model` and `$LEANN_EDGE_MODEL` are used when given, model or not (the open says why not).
    let forced = g.model.is_some() || leann_edge::env::knobs().model.is_some();
    let mut used = false;
    let mut rows = Vec::new();
    for (i, (why, dir)) in places.into_iter().enumerate() {
        let present = dir.join("model.onnx").exists();
        let state = if !present {
            "missing".to_string()
        } else {
            match TractEmbedder::check_files(&dir, policy) {
                Ok(fp) => format!("ok ({fp})"),
                Err(e) => format!("does not verify: {e}"),
            }
        };
        let this = if forced { i == 0 } else { present && !used };
        used |= this;
        rows.push(
            json!({"why": why, "dir": dir.display().to_string(), "present": present,
                         "state": state, "used": this}),
        );
    }
    let found = rows
        .iter()
        .any(|r| r["used"] == true && r["state"].as_str().is_some_and(|s| s.starts_with("ok")));
    let k = &KNOWN[0];
    let others: Vec<_> = KNOWN[1..]
        .iter()
        .map(|o| {
            let dir = known_model_dir(o.name).ok();
            json!({"name": o.name, "dimension": o.dim, "languages": o.languages,
                   "dir": dir.as_ref().map(|d| d.display().to_string()),
                   "fetch": format!("models/fetch.sh --model {} --user", o.name)})
        })
        .collect();
    if a.json {
        let doc = json!({"default_model": k.name, "dimension": k.dim, "languages": k.languages,
                         "places": rows, "found": found, "fix": (!found).then(fix_hint),
                         "other_models": others});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "default model {} ({}-d; languages: {})",
        k.name, k.dim, k.languages
    );
    for o in &others {
        let at = o["dir"].as_str().map_or_else(
            || format!("not fetched: {}", o["fetch"].as_str().unwrap_or("")),
            |d| format!("in {d}"),
        );
        println!(
            "also: --model {} ({}), {at}",
            o["name"].as_str().unwrap_or(""),
            o["languages"].as_str().unwrap_or("")
        );
    }
    println!("looked for in this order (the first one present is used):");
    for r in &rows {
        let mark = if r["used"] == true { "→" } else { " " };
        println!(
            "{mark} {:<20} {}  {}",
            r["why"].as_str().unwrap_or(""),
            r["dir"].as_str().unwrap_or(""),
            r["state"].as_str().unwrap_or("")
        );
    }
    if !found {
        println!("no usable model. Fix: {}", fix_hint());
    }
    Ok(())
}
