//! The function's binary (local runs with `cargo lambda watch`); the deployment runs the
//! same wiring from the shared multi-call binary (`functions/lambda`).
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    link_notify_fn::wire::run().await
}
