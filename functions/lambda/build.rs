//! Links the deployment binary as a position-dependent executable. A position-independent
//! one carries about 1 MiB of dynamic relocations (`.rela.dyn`) for the SDKs' tables of
//! pointers, applied at every cold start; without PIE the linker resolves them once. Only
//! this binary is affected (`rustc-link-arg-bin`): the per-function binaries of local runs,
//! the tests and the build's own proc-macros link as before.
fn main() {
    println!("cargo:rustc-link-arg-bin=scrm-lambda=-no-pie");
}
