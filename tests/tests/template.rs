//! template.yaml declares what the code expects: the same tables, keys and indexes as the
//! runtime's table definitions, queues that outlast their consumers, a binary per function.

use baton_aws::access::{API_KEYS, RATE_LIMITS};
use baton_aws::connections::CONNECTIONS;
use baton_aws::keys::IDEMPOTENCY;
use baton_aws::platform_state::PLATFORM_STATE;
use baton_aws::tables::{ACTIONS, Projected, TableDef};
use serde_norway::Value;
use std::collections::BTreeSet;

fn template() -> Value {
    serde_norway::from_str(include_str!("../../template.yaml")).expect("template.yaml parses")
}

fn resource<'a>(t: &'a Value, name: &str) -> &'a Value {
    &t["Resources"][name]
}

fn keys(schema: &Value) -> (String, Option<String>) {
    let mut hash = None;
    let mut range = None;
    for k in schema.as_sequence().expect("key schema") {
        let name = k["AttributeName"].as_str().expect("name").to_owned();
        match k["KeyType"].as_str() {
            Some("HASH") => hash = Some(name),
            Some("RANGE") => range = Some(name),
            other => panic!("key type {other:?}"),
        }
    }
    (hash.expect("hash key"), range)
}

fn assert_table_matches(t: &Value, logical: &str, def: &TableDef) {
    let props = &resource(t, logical)["Properties"];
    assert!(!props.is_null(), "{logical} is declared");
    assert_eq!(keys(&props["KeySchema"]), (def.hash.to_owned(), def.range.map(str::to_owned)), "{logical} key");
    type Index = (String, String, Option<String>, String, Vec<String>);
    let declared: BTreeSet<Index> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .map(|ixs| {
            ixs.iter()
                .map(|ix| {
                    let (h, r) = keys(&ix["KeySchema"]);
                    let kind = ix["Projection"]["ProjectionType"].as_str().expect("projection").to_owned();
                    let mut attrs: Vec<String> = ix["Projection"]["NonKeyAttributes"]
                        .as_sequence()
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default();
                    attrs.sort();
                    (ix["IndexName"].as_str().expect("index name").to_owned(), h, r, kind, attrs)
                })
                .collect()
        })
        .unwrap_or_default();
    let expected: BTreeSet<Index> = def
        .indexes
        .iter()
        .map(|ix| {
            let (kind, mut attrs) = match ix.projection {
                Projected::All => ("ALL", vec![]),
                Projected::KeysOnly => ("KEYS_ONLY", vec![]),
                Projected::Include(a) => ("INCLUDE", a.iter().map(|s| s.to_string()).collect()),
            };
            attrs.sort();
            (ix.name.to_owned(), ix.hash.to_owned(), ix.range.map(str::to_owned), kind.to_owned(), attrs)
        })
        .collect();
    assert_eq!(declared, expected, "{logical} indexes");
    let attrs: BTreeSet<String> = props["AttributeDefinitions"]
        .as_sequence()
        .expect("attributes")
        .iter()
        .map(|a| {
            assert_eq!(a["AttributeType"].as_str(), Some("S"), "{logical}: key attributes are strings");
            a["AttributeName"].as_str().expect("name").to_owned()
        })
        .collect();
    let wanted: BTreeSet<String> = def.key_attributes().into_iter().map(str::to_owned).collect();
    assert_eq!(attrs, wanted, "{logical} attribute definitions");
    assert_eq!(props["TimeToLiveSpecification"]["AttributeName"].as_str(), def.ttl_attribute, "{logical} TTL");
}

#[test]
fn the_template_declares_the_tables_the_code_creates() {
    let t = template();
    assert_table_matches(&t, "ActionsTable", &ACTIONS);
    assert_table_matches(&t, "ConnectionsTable", &CONNECTIONS);
    assert_table_matches(&t, "PlatformStateTable", &PLATFORM_STATE);
    assert_table_matches(&t, "IdempotencyTable", &IDEMPOTENCY);
    assert_table_matches(&t, "ApiKeysTable", &API_KEYS);
    assert_table_matches(&t, "RateLimitsTable", &RATE_LIMITS);
    assert_table_matches(&t, "ApprovalsTable", &baton_aws::approvals::APPROVALS);
    assert_table_matches(&t, "WorkflowsTable", &baton_aws::workflows::WORKFLOWS);
    assert_table_matches(&t, "MetricsTable", &baton_aws::metrics::METRICS);
    assert_eq!(
        resource(&t, "ActionsTable")["Properties"]["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_AND_OLD_IMAGES"),
        "events are derived from old and new images"
    );
}

#[test]
fn every_queue_outlasts_its_consumer_six_times_over() {
    let t = template();
    let default_timeout = t["Globals"]["Function"]["Timeout"].as_u64().expect("global timeout");
    let mut checked = 0;
    for (name, res) in t["Resources"].as_mapping().expect("resources") {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let timeout = res["Properties"]["Timeout"].as_u64().unwrap_or(default_timeout);
        let Some(events) = res["Properties"]["Events"].as_mapping() else { continue };
        for (_, ev) in events {
            if ev["Type"].as_str() != Some("SQS") {
                continue;
            }
            // `Queue: !GetAtt XQueue.Arn`
            let target = match &ev["Properties"]["Queue"] {
                Value::Tagged(tagged) => {
                    tagged.value.as_str().expect("GetAtt target").trim_end_matches(".Arn").to_owned()
                }
                other => panic!("{name:?}: queue given as {other:?}"),
            };
            let visibility = resource(&t, &target)["Properties"]["VisibilityTimeout"].as_u64().expect("visibility");
            assert!(visibility >= 6 * timeout, "{target}: visibility {visibility} < 6 × {timeout} ({name:?})");
            assert!(
                ev["Properties"]["FunctionResponseTypes"]
                    .as_sequence()
                    .is_some_and(|r| r.iter().any(|v| v == "ReportBatchItemFailures")),
                "{name:?} reports batch item failures"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 5, "ingress + four priority queues");
}

/// A change record that derives nothing costs an invocation: the table streams' TTL
/// deletions (REMOVE, read as `Record::Removed`, which derives no event) never reach the
/// function.
#[test]
fn the_table_streams_skip_the_deletions_that_derive_nothing() {
    let t = template();
    let events = resource(&t, "StreamFunction")["Properties"]["Events"].as_mapping().expect("events");
    for name in ["ActionChanges", "ApprovalChanges", "WorkflowChanges"] {
        let ev = &events[name]["Properties"];
        let patterns: Vec<serde_json::Value> = ev["FilterCriteria"]["Filters"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name} filters its records"))
            .iter()
            .map(|f| serde_json::from_str(f["Pattern"].as_str().expect("pattern")).expect("pattern is JSON"))
            .collect();
        assert_eq!(patterns, [serde_json::json!({"eventName": ["INSERT", "MODIFY"]})], "{name}");
    }
}

#[test]
fn every_function_names_a_binary_of_the_workspace() {
    let t = template();
    let mut binaries = BTreeSet::new();
    for (_, res) in t["Resources"].as_mapping().expect("resources") {
        if res["Type"].as_str() == Some("AWS::Serverless::Function") {
            assert_eq!(res["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
            binaries.insert(res["Metadata"]["BuildProperties"]["Binary"].as_str().expect("binary").to_owned());
        }
    }
    let expected: BTreeSet<String> = ["api", "ws", "ingest", "executor", "stream", "scheduler", "authorizer"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(binaries, expected);
    for b in &binaries {
        let main = format!("{}/../functions/{b}/src/main.rs", env!("CARGO_MANIFEST_DIR"));
        assert!(std::path::Path::new(&main).exists(), "{main}");
    }
}

#[test]
fn the_longest_action_timeout_fits_inside_the_executor_function_with_a_margin() {
    use baton_domain::validation::{EXECUTOR_TIMEOUT_MS, MAX_TIMEOUT_MS};
    let t = template();
    let timeout = resource(&t, "ExecutorFunction")["Properties"]["Timeout"].as_u64().expect("executor timeout");
    assert_eq!(timeout * 1000, EXECUTOR_TIMEOUT_MS, "the validation knows the executor's timeout");
    let lease = MAX_TIMEOUT_MS + baton_domain::usecases::execute::LEASE_GRACE.as_millis() as u64;
    assert!(lease + 30_000 <= EXECUTOR_TIMEOUT_MS, "the longest lease ends well inside an invocation");
}

#[test]
fn every_rest_route_needs_the_authorizer_but_the_open_ones_and_the_websocket_connect_needs_it_too() {
    let t = template();
    let api = &resource(&t, "RestApi")["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"].as_str(), Some("ApiKeyAuthorizer"));
    let auth = &api["Auth"]["Authorizers"]["ApiKeyAuthorizer"];
    assert_eq!(auth["FunctionPayloadType"].as_str(), Some("REQUEST"));
    assert_eq!(auth["Identity"]["ReauthorizeEvery"].as_u64(), Some(300));
    let events = resource(&t, "ApiFunction")["Properties"]["Events"].as_mapping().expect("events");
    let mut open = BTreeSet::new();
    for (_, ev) in events {
        let path = ev["Properties"]["Path"].as_str().expect("path").to_owned();
        if ev["Properties"]["Auth"]["Authorizer"].as_str() == Some("NONE") {
            open.insert(path);
        }
    }
    let expected: BTreeSet<String> =
        ["/healthz", "/api/openapi.json", "/api/slack/interactions"].iter().map(|s| s.to_string()).collect();
    assert!(
        open.is_subset(&{
            let mut all = expected.clone();
            all.insert("/".into());
            all.insert("/console/{proxy+}".into());
            all.insert("/favicon.ico".into());
            all
        }),
        "only the open routes skip the authorizer: {open:?}"
    );
    assert!(expected.is_subset(&open), "{open:?}");
    assert_eq!(resource(&t, "ConnectRoute")["Properties"]["AuthorizationType"].as_str(), Some("CUSTOM"));
}
