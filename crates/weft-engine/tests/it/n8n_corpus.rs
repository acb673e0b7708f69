//! The n8n corpus (`tests/corpus/n8n`, real public exports; see its README): every file imports
//! without error or panic, the number of workflows Weft fully supports can only go up, and
//! import → export → import gives back the same definition for every file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use weft_engine::n8n::{ImportError, export_workflow, import_workflow};
use weft_engine::{parse, validate};

/// Workflows with no placeholder and no validation problem, as of this test's last update.
/// Raise it when the importer or the catalogue improves; it must never go down.
const SUPPORTED_AT_LEAST: usize = 14;

/// Files in the corpus that are not n8n workflows at all (a broken conversion upstream: an
/// object whose keys are fragments of JSON text); they must be refused with a clear error.
const NOT_WORKFLOWS: usize = 2;

fn corpus() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/n8n");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable corpus file");
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
            (name, value)
        })
        .collect()
}

#[test]
fn every_corpus_workflow_imports_and_the_supported_count_only_goes_up() {
    let files = corpus();
    assert!(files.len() >= 200, "the corpus has {} files", files.len());
    let (mut imported, mut refused, mut supported) = (0, 0, 0);
    let mut unsupported_types: BTreeMap<String, usize> = BTreeMap::new();
    for (name, workflow) in &files {
        let result = std::panic::catch_unwind(|| import_workflow(workflow));
        let Ok(result) = result else { panic!("{name}: the import panicked") };
        let imported_workflow = match result {
            Ok(imported) => imported,
            Err(error @ ImportError::NotAWorkflow(_)) => {
                assert!(workflow.get("nodes").is_none(), "{name} has nodes but was refused: {error}");
                refused += 1;
                continue;
            }
            Err(error) => panic!("{name}: {error}"),
        };
        imported += 1;
        let definition =
            parse(&strip_metadata(&imported_workflow.workflow)).unwrap_or_else(|p| panic!("{name}: {p:?}"));
        for node in &imported_workflow.report.unsupported {
            *unsupported_types.entry(node.n8n_type.clone()).or_default() += 1;
        }
        if imported_workflow.report.unsupported.is_empty() && validate(&definition).is_empty() {
            supported += 1;
        }
    }
    let mut by_frequency: Vec<_> = unsupported_types.into_iter().collect();
    by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    println!(
        "n8n corpus: {} files, {imported} imported, {refused} not workflows, {supported} fully supported ({:.1} %)",
        files.len(),
        100.0 * supported as f64 / imported.max(1) as f64
    );
    println!("top unsupported node types: {:?}", &by_frequency[..by_frequency.len().min(15)]);
    assert_eq!(refused, NOT_WORKFLOWS);
    assert!(supported >= SUPPORTED_AT_LEAST, "{supported} fully supported, fewer than {SUPPORTED_AT_LEAST}");
}

/// The definition part of an import: the API's create body without the workflow's metadata.
fn strip_metadata(workflow: &Value) -> Value {
    let mut definition = workflow.clone();
    if let Value::Object(members) = &mut definition {
        for key in ["name", "description", "tags"] {
            members.remove(key);
        }
    }
    definition
}

#[test]
fn every_corpus_workflow_survives_a_round_trip_through_n8n() {
    for (name, workflow) in corpus() {
        let Ok(first) = import_workflow(&workflow) else { continue };
        let exported = export_workflow(&first.workflow).unwrap_or_else(|p| panic!("{name}: {p:?}"));
        let second = import_workflow(&exported).unwrap_or_else(|e| panic!("{name}: {e}"));
        for key in ["nodes", "connections", "settings", "name", "description", "tags"] {
            let (before, after) = (&first.workflow.get(key), &second.workflow.get(key));
            if let (Some(Value::Array(before)), Some(Value::Array(after))) = (before, after) {
                for (a, b) in before.iter().zip(after) {
                    assert_eq!(b, a, "{name}: an element of `{key}` changed in a round trip");
                }
            }
            assert_eq!(after, before, "{name}: `{key}` changed in a round trip");
        }
    }
}

#[test]
#[ignore = "a diagnostic: what keeps corpus workflows from being fully supported"]
fn why_corpus_workflows_are_not_supported() {
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (_, workflow) in corpus() {
        let Ok(imported) = import_workflow(&workflow) else { continue };
        for node in &imported.report.unsupported {
            *reasons.entry(format!("placeholder {} {:?}", node.n8n_type, node.reason)).or_default() += 1;
        }
        let definition = parse(&strip_metadata(&imported.workflow)).expect("parses");
        for problem in validate(&definition) {
            if !problem.detail.starts_with("unsupported n8n") {
                let detail: String = problem.detail.chars().take(70).collect();
                *reasons.entry(format!("problem {detail}")).or_default() += 1;
            }
        }
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (reason, count) in reasons.iter().take(60) {
        println!("{count:4} {reason}");
    }
}
