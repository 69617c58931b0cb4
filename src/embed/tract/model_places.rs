//! Where the default model is looked for, in this order (the first folder holding a `model.onnx`
//! wins):
//!
//! 1. `--model DIR` (the caller passes it; not looked up here)
//! 2. `$LEANN_EDGE_MODEL`
//! 3. the user's data folder: `$XDG_DATA_HOME/leann-edge/models/NAME`, else
//!    `~/.local/share/leann-edge/models/NAME` (where `models/fetch.sh --user` puts it)
//! 4. the system folders packages use: `/usr/local/share/leann-edge/models/NAME`, then
//!    `/usr/share/leann-edge/models/NAME`
//! 5. the binary's prefix: `PREFIX/share/leann-edge/models/NAME` for `PREFIX/bin/leann-edge` (an
//!    installed tree unpacked elsewhere)
//! 6. next to the binary: `models/NAME` in its folder or up to two folders above (a source
//!    checkout's `target/release/leann-edge` finds the checkout's `models/`)
//! 7. `models/NAME` under the current folder
//!
//! When none holds the model, the error names every place looked at and the command that fixes it
//! for how this binary was installed.
use super::super::EmbedError;
use super::model_files::KNOWN;
use std::path::{Path, PathBuf};

/// System folders searched (after the user's data folder).
pub const SYSTEM_DIRS: [&str; 2] = [
    "/usr/local/share/leann-edge/models",
    "/usr/share/leann-edge/models",
];

/// One place a model may be.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelPlace {
    /// Why it is looked at (`$LEANN_EDGE_MODEL`, `user data folder`, …).
    pub why: &'static str,
    /// The model folder.
    pub dir: PathBuf,
}

impl ModelPlace {
    /// Whether a `model.onnx` is there.
    pub fn has_model(&self) -> bool {
        self.dir.join("model.onnx").exists()
    }
}

/// Every place the default model is looked for, in order (`--model` aside).
pub fn model_places() -> Vec<ModelPlace> {
    let mut out = Vec::new();
    if let Some(p) = &crate::env::knobs().model {
        out.push(ModelPlace {
            why: "$LEANN_EDGE_MODEL",
            dir: p.clone(),
        });
    }
    out.extend(places_named(KNOWN[0].name));
    out
}

/// The folder of the manifest's model `name` (`--model multilingual-e5-small-int8`): the first of
/// the places above (`$LEANN_EDGE_MODEL` aside) holding it.
pub fn known_model_dir(name: &str) -> Result<PathBuf, EmbedError> {
    first_holding(
        &places_named(name),
        format!(
            "fetch it with `models/fetch.sh --model {name} --user` from the leann-edge source \
             repository"
        ),
    )
}

/// The first of `places` holding a model, else [`EmbedError::ModelNotFound`] listing them all
/// with `fix`.
fn first_holding(places: &[ModelPlace], fix: String) -> Result<PathBuf, EmbedError> {
    if let Some(p) = places.iter().find(|p| p.has_model()) {
        return Ok(p.dir.clone());
    }
    let looked: Vec<String> = places.iter().map(|p| p.dir.display().to_string()).collect();
    Err(EmbedError::ModelNotFound {
        looked: looked.join(", "),
        fix,
    })
}

/// The places a model folder called `name` is looked for, after `$LEANN_EDGE_MODEL`.
fn places_named(name: &str) -> Vec<ModelPlace> {
    let mut out = Vec::new();
    if let Some(d) = &crate::env::knobs().data_dir {
        out.push(ModelPlace {
            why: "user data folder",
            dir: d.join("models").join(name),
        });
    }
    for d in SYSTEM_DIRS {
        out.push(ModelPlace {
            why: "system folder",
            dir: Path::new(d).join(name),
        });
    }
    if let Ok(exe) = std::env::current_exe() {
        // An installed tree moved elsewhere (`PREFIX/bin/leann-edge` → `PREFIX/share/...`).
        if let Some(prefix) = exe.parent().and_then(Path::parent) {
            let dir = prefix.join("share/leann-edge/models").join(name);
            if !out.iter().any(|p| p.dir == dir) {
                out.push(ModelPlace {
                    why: "the binary's prefix",
                    dir,
                });
            }
        }
        // The binary's folder and two above (`target/release/leann-edge` → the checkout).
        for anc in exe.ancestors().skip(1).take(3) {
            out.push(ModelPlace {
                why: "next to the binary",
                dir: anc.join("models").join(name),
            });
        }
    }
    out.push(ModelPlace {
        why: "current folder",
        dir: Path::new("models").join(name),
    });
    out
}

/// The default model folder: `$LEANN_EDGE_MODEL` when set (even if the model is missing there: the
/// open then says what is wrong with it), else the first place holding a model.
pub fn default_model_dir() -> Result<PathBuf, EmbedError> {
    if let Some(p) = &crate::env::knobs().model {
        return Ok(p.clone());
    }
    first_holding(&model_places(), fix_hint())
}

/// The command that puts the model where this binary finds it.
pub fn fix_hint() -> String {
    let exe = std::env::current_exe().ok();
    let checkout = exe.as_ref().and_then(|e| {
        e.ancestors()
            .skip(1)
            .find(|a| a.join("models/fetch.sh").is_file())
            .map(Path::to_path_buf)
    });
    if let Some(root) = checkout {
        return format!("run {}", root.join("models/fetch.sh").display());
    }
    let packaged = exe
        .as_ref()
        .is_some_and(|e| e.starts_with("/usr/bin") || e.starts_with("/usr/local/bin"));
    if packaged && Path::new(SYSTEM_DIRS[1]).is_dir() {
        return "reinstall the package (sudo apt install --reinstall leann-edge)".into();
    }
    "fetch it with `models/fetch.sh --user` from the leann-edge source repository (it installs \
     into ~/.local/share/leann-edge/models), or pass --model DIR / set LEANN_EDGE_MODEL"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_in_the_documented_order() {
        let p = model_places();
        let whys: Vec<&str> = p.iter().map(|p| p.why).collect();
        let first = |w: &str| whys.iter().position(|x| *x == w);
        let sys = first("system folder").unwrap();
        let exe = first("next to the binary").unwrap();
        let cwd = first("current folder").unwrap();
        assert!(sys < exe && exe < cwd, "{whys:?}");
        if let Some(user) = first("user data folder") {
            assert!(user < sys);
        }
        assert!(p
            .iter()
            .all(|x| x.dir.ends_with(KNOWN[0].name) || x.why == "$LEANN_EDGE_MODEL"));
    }
}
