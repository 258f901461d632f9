//! The layering is held by the build, not by a drawing: `scrm-core` must not depend, even
//! transitively, on an SDK, Lambda or HTTP crate (`scripts/check-layers.sh` runs the same
//! check as a CI step).

/// Crate-name prefixes that talk to a network or to AWS.
const FORBIDDEN: [&str; 6] = ["aws-", "lambda_", "reqwest", "hyper", "axum", "tower"];

fn normal_dependencies(package: &str) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn core_has_no_sdk_lambda_or_http_dependency() {
    let deps = normal_dependencies("scrm-core");
    assert!(
        deps.iter().any(|d| d == "scrm-core"),
        "the tree lists the crate itself"
    );
    let bad: Vec<&String> = deps
        .iter()
        .filter(|d| FORBIDDEN.iter().any(|f| d.starts_with(f)))
        .collect();
    assert!(bad.is_empty(), "scrm-core depends on {bad:?}");
}

#[test]
fn the_check_would_catch_a_network_crate() {
    // The adapters crate is where the SDKs live: the same check must flag it, or the test
    // above proves nothing.
    let deps = normal_dependencies("scrm-adapters");
    assert!(deps
        .iter()
        .any(|d| FORBIDDEN.iter().any(|f| d.starts_with(f))));
}
