//! The SAM template agrees with the code: the tables it declares are exactly the schema's
//! (the one source of truth), its EventBridge rules deliver exactly the routes of the
//! code's routing table, and it builds every function crate.
use scrm_adapters::dynamo::schema::{self, TableDef};
use scrm_core::events::routing::ROUTES;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml exists");
    serde_yaml::from_str(&text).expect("infra/template.yaml parses as YAML")
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn str_list(v: &Value) -> Vec<String> {
    untag(v)
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| untag(x).as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn key_schema(v: &Value) -> BTreeMap<String, String> {
    untag(v)
        .as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|k| {
            (
                k["KeyType"].as_str().expect("KeyType").to_string(),
                k["AttributeName"]
                    .as_str()
                    .expect("AttributeName")
                    .to_string(),
            )
        })
        .collect()
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(k, r)| (k.as_str().expect("logical id"), r))
        .collect()
}

fn expected_key(pk: &str, sk: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("HASH".to_string(), pk.to_string()),
        ("RANGE".to_string(), sk.to_string()),
    ])
}

fn check_table(def: &TableDef, resource: &Value) {
    let props = &resource["Properties"];
    assert_eq!(
        key_schema(&props["KeySchema"]),
        expected_key(schema::PK, schema::SK),
        "{} key schema",
        def.logical_id
    );
    let attrs: BTreeMap<String, String> = untag(&props["AttributeDefinitions"])
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_string(),
                a["AttributeType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected_attrs: BTreeMap<String, String> = def
        .attribute_names()
        .into_iter()
        .map(|a| (a.to_string(), "S".to_string()))
        .collect();
    assert_eq!(
        attrs, expected_attrs,
        "{} attribute definitions",
        def.logical_id
    );
    let gsis: Vec<&Value> = untag(&props["GlobalSecondaryIndexes"])
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    assert_eq!(gsis.len(), def.gsis.len(), "{} index count", def.logical_id);
    for expected in def.gsis {
        let gsi = gsis
            .iter()
            .find(|g| g["IndexName"].as_str() == Some(expected.name))
            .unwrap_or_else(|| panic!("{} lacks index {}", def.logical_id, expected.name));
        assert_eq!(
            key_schema(&gsi["KeySchema"]),
            expected_key(expected.pk, expected.sk)
        );
        assert_eq!(
            gsi["Projection"]["ProjectionType"].as_str(),
            Some(expected.projection.as_str()),
            "{} {} projection",
            def.logical_id,
            expected.name
        );
    }
    let ttl = &props["TimeToLiveSpecification"];
    assert_eq!(
        ttl["AttributeName"].as_str(),
        Some(schema::TTL),
        "{} ttl",
        def.logical_id
    );
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
    assert_eq!(
        untag(&props["BillingMode"]).as_str(),
        Some("PAY_PER_REQUEST"),
        "{} billing",
        def.logical_id
    );
    let pitr = &props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"];
    assert_eq!(
        pitr.as_bool(),
        Some(true),
        "{} point-in-time recovery",
        def.logical_id
    );
}

#[test]
fn the_template_declares_exactly_the_schema_tables() {
    let t = template();
    let tables = resources_of_type(&t, "AWS::DynamoDB::Table");
    let declared: BTreeSet<&str> = tables.iter().map(|(id, _)| *id).collect();
    let expected: BTreeSet<&str> = schema::ALL.iter().map(|d| d.logical_id).collect();
    assert_eq!(declared, expected);
    for def in schema::ALL {
        let (_, resource) = tables
            .iter()
            .find(|(id, _)| *id == def.logical_id)
            .expect("declared");
        check_table(&def, resource);
    }
}

/// Which function a template resource is: every function ships the one multi-call binary
/// (`scrm-lambda`) and names itself in `SCRM_FUNCTION`.
fn function_binary(resource: &Value) -> Option<String> {
    assert_eq!(
        resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("scrm-lambda"),
        "every function deploys the multi-call binary"
    );
    resource["Properties"]["Environment"]["Variables"]["SCRM_FUNCTION"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn every_function_of_the_template_is_one_the_binary_can_be() {
    let t = template();
    let main = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/lambda/src/main.rs"
    ))
    .expect("the multi-call binary's source");
    let mut names = BTreeSet::new();
    for (id, f) in resources_of_type(&t, "AWS::Serverless::Function") {
        let name = function_binary(f).unwrap_or_else(|| panic!("{id} has no SCRM_FUNCTION"));
        assert!(
            main.contains(&format!("\"{name}\" => ")),
            "{id}: SCRM_FUNCTION {name} is not dispatched by functions/lambda"
        );
        assert!(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
                .join(&name)
                .is_dir(),
            "{id}: no crate functions/{name}"
        );
        names.insert(name);
    }
    assert_eq!(names.len(), 17, "seventeen distinct functions: {names:?}");
}

#[test]
fn the_template_rules_deliver_exactly_the_code_routes() {
    let t = template();
    let mut from_template: BTreeSet<(String, String)> = BTreeSet::new();
    for (id, f) in resources_of_type(&t, "AWS::Serverless::Function") {
        let binary = function_binary(f).unwrap_or_else(|| panic!("{id} has no Binary"));
        let Some(events) = f["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("EventBridgeRule") {
                continue;
            }
            let props = &event["Properties"];
            assert!(
                !props["EventBusName"].is_null(),
                "{id}: rules must listen on the project bus, not the default bus"
            );
            let pattern = &props["Pattern"];
            assert_eq!(
                str_list(&pattern["source"]),
                vec![scrm_core::events::SOURCE.to_string()]
            );
            for detail_type in str_list(&pattern["detail-type"]) {
                from_template.insert((detail_type, binary.clone()));
            }
        }
    }
    let from_code: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|r| {
            r.targets
                .iter()
                .map(move |t| (r.detail_type.to_string(), t.to_string()))
        })
        .collect();
    let missing: Vec<_> = from_code.difference(&from_template).collect();
    let extra: Vec<_> = from_template.difference(&from_code).collect();
    assert!(
        missing.is_empty(),
        "routes with no template rule: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "template rules not in the routing table: {extra:?}"
    );
}

#[test]
fn the_template_builds_every_function_crate() {
    let t = template();
    let in_template: BTreeSet<String> = resources_of_type(&t, "AWS::Serverless::Function")
        .into_iter()
        .filter_map(|(_, f)| function_binary(f))
        .collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let crates: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("functions/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // `functions/lambda` is the multi-call binary every function ships, not a function.
        .filter(|name| name != "lambda")
        .collect();
    assert_eq!(in_template, crates);
    for (id, f) in resources_of_type(&t, "AWS::Serverless::Function") {
        let arch = &f["Properties"]["Architectures"];
        let globals_arch = &t["Globals"]["Function"]["Architectures"];
        assert!(
            !arch.is_null() || !globals_arch.is_null(),
            "{id}: the architecture must come from the Arch parameter"
        );
    }
}

#[test]
fn every_routed_function_exists() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    for route in ROUTES {
        for target in route.targets {
            assert!(
                std::path::Path::new(dir)
                    .join(target)
                    .join("Cargo.toml")
                    .exists(),
                "route {} targets missing function {target}",
                route.detail_type
            );
        }
    }
}

#[tokio::test]
async fn local_set_up_creates_exactly_the_schema_tables() {
    let db = scrm_tests::db().await;
    for def in schema::ALL {
        let name = def.name_in(&db.tables);
        let out = db
            .client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .expect("describe table");
        let table = out.table().expect("table");
        let keys: BTreeMap<String, String> = table
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.key_type().as_str().to_string(),
                    k.attribute_name().to_string(),
                )
            })
            .collect();
        assert_eq!(keys, expected_key(schema::PK, schema::SK), "{name}");
        let mut gsis: Vec<(String, BTreeMap<String, String>)> = table
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                (
                    g.index_name().unwrap_or_default().to_string(),
                    g.key_schema()
                        .iter()
                        .map(|k| {
                            (
                                k.key_type().as_str().to_string(),
                                k.attribute_name().to_string(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        gsis.sort();
        let mut expected: Vec<(String, BTreeMap<String, String>)> = def
            .gsis
            .iter()
            .map(|g| (g.name.to_string(), expected_key(g.pk, g.sk)))
            .collect();
        expected.sort();
        assert_eq!(gsis, expected, "{name} indexes");
    }
}

/// Local runs: the local publisher invokes exactly the functions the routing table names,
/// through the Lambda invoke API `cargo lambda watch` serves, with the EventBridge shape.
#[tokio::test]
async fn the_local_publisher_follows_the_routing_table() {
    use axum::extract::{Path, State};
    use axum::routing::post;
    use scrm_adapters::events::LocalLambdaPublisher;
    use scrm_core::events::{DomainEvent, EventEnvelope, EventPublisher};
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;
    async fn invoke(
        State(seen): State<Seen>,
        Path(name): Path<String>,
        axum::Json(body): axum::Json<serde_json::Value>,
    ) -> &'static str {
        seen.lock().unwrap().push((name, body));
        "null"
    }
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let now = chrono::Utc::now();
    let events = vec![
        EventEnvelope::new(
            "e1",
            "ww0001",
            now,
            DomainEvent::MemberLeftGroup {
                chat_id: "wr1".into(),
                member_id: "wm1".into(),
                is_customer: true,
                quit_scene: Some(0),
            },
        ),
        EventEnvelope::new(
            "e2",
            "ww0001",
            now,
            DomainEvent::ResyncRequested {
                job_id: "j1".into(),
            },
        ),
        // Routed nowhere: published, delivered to no function.
        EventEnvelope::new(
            "e3",
            "ww0001",
            now,
            DomainEvent::GroupCreated {
                chat_id: "wr2".into(),
            },
        ),
    ];
    LocalLambdaPublisher::new(format!("http://{addr}"))
        .publish(&events)
        .await
        .expect("delivered");
    let seen = seen.lock().unwrap().clone();
    let targets: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        targets,
        vec!["growth-on-event", "points-on-event", "directory-resync"]
    );
    assert_eq!(seen[0].1["detail-type"], "MemberLeftGroup");
    assert_eq!(seen[1].1["detail-type"], "MemberLeftGroup");
    assert_eq!(
        EventEnvelope::from_eventbridge_json(&seen[2].1).unwrap(),
        events[1]
    );
}

/// The tenants-table policy of a function (the SAM policy template naming `TenantsTable`).
fn tenants_table_policy(resource: &Value) -> Option<String> {
    untag(&resource["Properties"]["Policies"])
        .as_sequence()?
        .iter()
        .filter_map(|p| untag(p).as_mapping())
        .flat_map(|m| m.iter())
        .find(|(_, v)| untag(&untag(v)["TableName"]).as_str() == Some("TenantsTable"))
        .and_then(|(k, _)| k.as_str().map(str::to_string))
}

/// The actions the function's inline policy statements allow.
fn inline_actions(resource: &Value) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for policy in untag(&resource["Properties"]["Policies"])
        .as_sequence()
        .into_iter()
        .flatten()
    {
        for statement in untag(&untag(policy)["Statement"])
            .as_sequence()
            .into_iter()
            .flatten()
        {
            let action = &statement["Action"];
            actions.extend(str_list(action));
            actions.extend(untag(action).as_str().map(str::to_string));
        }
    }
    actions
}

#[test]
fn only_the_functions_that_call_wecom_or_verify_callbacks_can_open_tenant_secrets() {
    let t = template();
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    for var in [
        "TOKEN_SIGNING_KEYS",
        "SCRM_SIGNING_KEY",
        "SECRETS_KMS_KEY_ID",
    ] {
        assert!(
            globals.get(var).is_none(),
            "{var} must not be given to every function"
        );
    }
    let functions = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let mut decrypting = BTreeSet::new();
    let mut signing = BTreeSet::new();
    for (id, f) in resources_of_type(&t, "AWS::Serverless::Function") {
        let name = function_binary(f).unwrap_or_else(|| panic!("{id} has no SCRM_FUNCTION"));
        let wire = std::fs::read_to_string(format!("{functions}/{name}/src/wire.rs"))
            .unwrap_or_else(|e| panic!("functions/{name}/src/wire.rs: {e}"));
        // What the code asks of its container decides what the template may give it.
        let opens_secrets = wire.contains(".tenants_with_secrets()") || wire.contains(".wecom(");
        let signs = wire.contains(".signing_keys()");
        let env = &f["Properties"]["Environment"]["Variables"];
        let actions = inline_actions(f);
        assert_eq!(
            actions.contains("kms:Decrypt"),
            opens_secrets,
            "{id}: kms:Decrypt only for the functions that call WeCom or verify callbacks"
        );
        assert_eq!(
            actions.contains("kms:GenerateDataKey"),
            opens_secrets,
            "{id}: kms:GenerateDataKey with kms:Decrypt (sealing cached access tokens)"
        );
        assert_eq!(
            env.get("SECRETS_KMS_KEY_ID").is_some(),
            opens_secrets,
            "{id}"
        );
        assert_eq!(
            env.get("TOKEN_SIGNING_KEYS").is_some(),
            signs,
            "{id}: the signing keys only for the functions that sign or verify tokens"
        );
        if opens_secrets {
            decrypting.insert(name.clone());
        }
        if signs {
            signing.insert(name.clone());
        }
    }
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        decrypting,
        set(&[
            "admin-api",
            "callback-sweep",
            "customer-api",
            "directory-resync",
            "growth-on-event",
            "growth-rota",
            "link-notify",
            "link-redirect",
            "sop-dispatch-worker",
            "sop-result-sync",
            "staff-api",
            "wecom-callback",
        ])
    );
    assert_eq!(
        signing,
        set(&[
            "admin-api",
            "customer-api",
            "link-redirect",
            "sop-dispatch-worker",
            "staff-api"
        ])
    );
    // The customer API writes the tenants table only for the sealed token cache of its
    // official-account login (and WeCom's unionid mapping).
    let customer_api = &t["Resources"]["CustomerApiFunction"];
    assert_eq!(
        tenants_table_policy(customer_api).as_deref(),
        Some("DynamoDBCrudPolicy")
    );
    // The key the policies name exists and is kept with the data it protects.
    let key = &t["Resources"]["TenantSecretsKey"];
    assert_eq!(key["Type"].as_str(), Some("AWS::KMS::Key"));
    assert_eq!(key["DeletionPolicy"].as_str(), Some("Retain"));
}

#[test]
fn the_http_functions_cannot_starve_the_scheduled_dispatch() {
    let t = template();
    let http = ["wecom-callback", "admin-api", "customer-api", "staff-api"];
    let mut reserved = BTreeMap::new();
    for (id, f) in resources_of_type(&t, "AWS::Serverless::Function") {
        let name = function_binary(f).unwrap_or_else(|| panic!("{id} has no SCRM_FUNCTION"));
        let value = &f["Properties"]["ReservedConcurrentExecutions"];
        if http.contains(&name.as_str()) {
            // Each HTTP function's ceiling is the `HttpConcurrency` parameter.
            assert_eq!(
                untag(value)["Ref"]
                    .as_str()
                    .or_else(|| untag(value).as_str()),
                Some("HttpConcurrency"),
                "{id}: {value:?}"
            );
            reserved.insert(name, ());
        } else if name == "sop-dispatch" {
            assert!(
                value.as_u64().is_some_and(|n| n >= 1),
                "{id} reserves its own concurrency: {value:?}"
            );
        }
    }
    assert_eq!(reserved.len(), http.len(), "{reserved:?}");
    let param = &t["Parameters"]["HttpConcurrency"];
    assert_eq!(param["Type"].as_str(), Some("Number"));
    assert!(param["Default"].as_u64().is_some_and(|n| n >= 1));
}
