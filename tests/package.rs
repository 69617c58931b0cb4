//! The Debian package (tools/package-deb.sh) holds what an installed `leann-edge` needs: unpacked
//! into a throwaway root (no root rights, nothing installed on this machine), its binary finds the
//! bundled model from any folder and `demo` answers. Needs `dpkg-deb` (Debian, the CI machine).
#![cfg(all(feature = "cli", feature = "tract"))]
use std::path::Path;
use std::process::Command;

#[test]
fn the_deb_carries_binary_model_and_boards_and_demo_runs_from_anywhere() {
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        eprintln!("skipped: dpkg-deb is not installed (not a Debian system)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new(repo.join("tools/package-deb.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_leann-edge"), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let deb = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(deb.ends_with(".deb"), "{deb}");
    let info = Command::new("dpkg-deb")
        .args(["-I", &deb])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Package: leann-edge") && info.contains("Depends: libc6"),
        "{info}"
    );
    let root = dir.path().join("root");
    let x = Command::new("dpkg-deb")
        .args(["-x", &deb])
        .arg(&root)
        .status()
        .unwrap();
    assert!(x.success());
    let share = root.join("usr/share/leann-edge");
    assert!(share
        .join("models/all-minilm-l6-v2-int8/model.onnx")
        .is_file());
    assert!(share.join("boards/rpi4.toml").is_file());
    // The unpacked binary, run from an unrelated folder with an empty home: the model is found
    // through the binary's prefix (`usr/bin/../share/leann-edge/models`) and verifies.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(root.join("usr/bin/leann-edge"))
            .args(args)
            .current_dir(&elsewhere)
            .env_remove("LEANN_EDGE_MODEL")
            .env("HOME", &elsewhere)
            .env_remove("XDG_DATA_HOME")
            .env("XDG_CACHE_HOME", elsewhere.join("cache"))
            .env("LEANN_EDGE_BOARD", "x86_64-host")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{args:?}: {err}");
        out
    };
    let models = run(&["models", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&models).unwrap();
    let used = v["places"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["used"] == true)
        .cloned()
        .unwrap_or_default();
    let want = share.join("models/all-minilm-l6-v2-int8");
    if !Path::new("/usr/share/leann-edge/models").exists() {
        assert_eq!(used["dir"], want.display().to_string(), "{v}");
    }
    assert!(
        used["state"].as_str().unwrap_or("").starts_with("ok"),
        "{v}"
    );
    let out = run(&["demo"]);
    assert!(out.contains("Q: What is product quantization?"), "{out}");
}
