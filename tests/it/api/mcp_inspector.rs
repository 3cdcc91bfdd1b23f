//! The MCP Inspector's CLI (`@modelcontextprotocol/inspector`, from npm) against the live
//! `/mcp` with an admin token: `tools/list --strict` reports every tool-schema portability
//! problem; there must be none, and every tool must be listed.
//!
//! `.ci/run` installs it into a temporary folder and sets `MCP_INSPECTOR` (its launcher);
//! without it the test installs it under the target directory with npm (a machine without
//! Node.js fails the test, saying so, rather than skipping it).

use std::path::PathBuf;

use super::{all_scopes, app_with_org, token};

/// The pinned version (the same as `.ci/run`'s).
const PACKAGE: &str = "@modelcontextprotocol/inspector@2.12.0";

/// The Inspector's launcher: `.ci/run`'s (`MCP_INSPECTOR`), else one installed here.
async fn inspector() -> PathBuf {
    if let Some(bin) = std::env::var_os("MCP_INSPECTOR") {
        return PathBuf::from(bin);
    }
    static MADE: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    MADE.get_or_init(|| async {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-inspector-2.12.0");
        let bin = dir.join("node_modules/.bin/mcp-inspector");
        if bin.exists() {
            return bin;
        }
        let out = tokio::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&dir)
            .arg(PACKAGE)
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run npm (the MCP check needs Node.js): {e}"));
        assert!(
            out.status.success(),
            "npm install {PACKAGE} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
    .await
    .clone()
}

#[tokio::test]
async fn the_mcp_inspector_finds_no_portability_problem_in_any_tool() {
    let bin = inspector().await;
    let (app, org, ada, _) = app_with_org().await;
    let admin = token(&app, &org, &ada, &all_scopes(), None).await;
    let out = tokio::process::Command::new(&bin)
        .arg("--cli")
        .arg(app.url("/mcp"))
        .args(["--transport", "http"])
        .args(["--header", &format!("Authorization: Bearer {admin}")])
        .args(["--method", "tools/list", "--strict"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {bin:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the Inspector failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let warning = stderr
        .lines()
        .chain(stdout.lines())
        .find(|l| l.to_lowercase().contains("warning") || l.to_lowercase().contains("portab"));
    assert!(
        warning.is_none(),
        "the Inspector warns:\n{stderr}\n{stdout}"
    );
    let listed: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("tools/list is no JSON ({e}):\n{stdout}"));
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.len() >= 11, "{names:?}");
}
