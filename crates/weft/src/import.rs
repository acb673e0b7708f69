//! `weft import n8n`: n8n workflow exports from files and directories become draft workflows
//! in a workspace (the API's import, acting as Weft), or, with `--report`, a summary of how
//! much of them Weft supports, with no database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;
use weft::Config;
use weft_engine::n8n::import_workflow;
use weft_sandbox::n8n_surface::{Surface, count_calls, count_globals, expressions_in};
use weft_store::Origin;

/// The `.json` files named, directories expanded (recursively, sorted).
fn json_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading the directory {}", path.display()))?
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading the directory {}", path.display()))?;
            entries.sort();
            let (dirs, plain): (Vec<_>, Vec<_>) = entries.into_iter().partition(|entry| entry.is_dir());
            files.extend(plain.into_iter().filter(|entry| entry.extension().is_some_and(|ext| ext == "json")));
            files.extend(json_files(&dirs)?);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(files)
}

/// Each file's JSON: one n8n export or an array of them.
fn read_json(file: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// The exports of a file: its array's members, or itself.
fn exports(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(list) => list.iter().collect(),
        single => vec![single],
    }
}

/// Creates the files' workflows in the workspace (id or slug), all in one transaction.
pub async fn import(config: &Config, workspace: &str, paths: &[PathBuf]) -> anyhow::Result<()> {
    let files = json_files(paths)?;
    if files.is_empty() {
        bail!("no .json files in {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    let (mut all, mut labels) = (Vec::new(), Vec::new());
    for file in &files {
        let value = read_json(file)?;
        for (index, export) in exports(&value).into_iter().enumerate() {
            labels.push(format!("{} [{index}]", file.display()));
            all.push(export.clone());
        }
    }
    let store = weft::open_store(config, false).await?;
    let imported = match store.system_scope(workspace).await {
        Ok((_, scope)) => {
            weft_http::api::n8n::import_n8n(&store, &scope, &Origin::default(), &Value::Array(all), "").await
        }
        Err(weft_store::StoreError::NotFound) => {
            store.close().await;
            bail!("no workspace {workspace}");
        }
        Err(other) => {
            store.close().await;
            return Err(other).context("finding the workspace");
        }
    };
    store.close().await;
    let items = match imported {
        Ok(items) => items,
        Err(weft_http::ApiError::Validation(problems)) => {
            for problem in &problems {
                let mut segments = problem.pointer.trim_start_matches('/').splitn(2, '/');
                let label = segments.next().and_then(|index| index.parse::<usize>().ok()).and_then(|i| labels.get(i));
                let inside = segments.next().map(|rest| format!(" at /{rest}")).unwrap_or_default();
                eprintln!("{}{inside}: {}", label.map_or(problem.pointer.as_str(), String::as_str), problem.detail);
            }
            bail!("nothing was imported: {} problem(s)", problems.len());
        }
        Err(other) => return Err(anyhow::anyhow!("{other}")),
    };
    for item in &items {
        let unsupported = item.report["unsupported"].as_array().map_or(0, Vec::len);
        let state = if item.problems.is_empty() {
            "ready to publish".to_owned()
        } else {
            format!("draft, {} problem(s), {unsupported} unsupported node(s)", item.problems.len())
        };
        println!("{}  {}  ({state})", item.id, item.name);
    }
    println!("imported {} workflow(s) from {} file(s) into {workspace}", items.len(), files.len());
    Ok(())
}

/// What `--report` counts.
#[derive(Default)]
struct Tally {
    imported: usize,
    supported: usize,
    refused: Vec<String>,
    /// n8n type → (nodes, workflows).
    unsupported: BTreeMap<String, (usize, usize)>,
    expressions: Vec<String>,
}

/// Prints how much of the files Weft supports; reads no database.
pub fn report(paths: &[PathBuf]) -> anyhow::Result<()> {
    let files = json_files(paths)?;
    let mut tally = Tally::default();
    for file in &files {
        let value = match read_json(file) {
            Ok(value) => value,
            Err(error) => {
                tally.refused.push(format!("{error:#}"));
                continue;
            }
        };
        for (index, export) in exports(&value).into_iter().enumerate() {
            let imported = match import_workflow(export) {
                Ok(imported) => imported,
                Err(error) => {
                    tally.refused.push(format!("{} [{index}]: {error}", file.display()));
                    continue;
                }
            };
            tally.imported += 1;
            let mut types: Vec<&str> = imported.report.unsupported.iter().map(|n| n.n8n_type.as_str()).collect();
            for n8n_type in &types {
                tally.unsupported.entry((*n8n_type).to_owned()).or_default().0 += 1;
            }
            types.sort_unstable();
            types.dedup();
            for n8n_type in types {
                tally.unsupported.entry(n8n_type.to_owned()).or_default().1 += 1;
            }
            if fully_supported(&imported.workflow) {
                tally.supported += 1;
            }
            for node in export.get("nodes").and_then(Value::as_array).into_iter().flatten() {
                if let Some(parameters) = node.get("parameters") {
                    expressions_in(parameters, &mut tally.expressions);
                }
            }
        }
    }
    print!("{}", render(&files, &tally));
    Ok(())
}

/// No placeholder and no validation problem: it could be published as imported.
fn fully_supported(workflow: &Value) -> bool {
    let mut definition = workflow.clone();
    if let Value::Object(members) = &mut definition {
        for key in ["name", "description", "tags"] {
            members.remove(key);
        }
    }
    weft_engine::parse(&definition).is_ok_and(|parsed| weft_engine::validate(&parsed).is_empty())
}

fn render(files: &[PathBuf], tally: &Tally) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let percent = 100.0 * tally.supported as f64 / tally.imported.max(1) as f64;
    let _ = writeln!(out, "files read:       {}", files.len());
    let _ = writeln!(out, "imported:         {}", tally.imported);
    let _ = writeln!(out, "not n8n workflows: {}", tally.refused.len());
    for refused in &tally.refused {
        let _ = writeln!(out, "  {refused}");
    }
    let _ = writeln!(out, "fully supported:  {} ({percent:.1} %)", tally.supported);
    let mut types: Vec<_> = tally.unsupported.iter().collect();
    types.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let _ = writeln!(out, "\nunsupported node types ({}), by nodes (workflows):", types.len());
    for (n8n_type, (nodes, workflows)) in types {
        let _ = writeln!(out, "  {nodes:>5} ({workflows:>3})  {n8n_type}");
    }
    let surface = Surface::default();
    let mut globals: Vec<_> =
        count_globals(&tally.expressions).into_iter().filter(|(name, _)| !surface.has_global(name)).collect();
    globals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut methods: Vec<_> =
        count_calls(&tally.expressions).into_iter().filter(|(name, _)| !surface.has_method(name)).collect();
    methods.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let _ = writeln!(
        out,
        "\nexpression functions and globals the evaluator lacks (of {} expressions):",
        tally.expressions.len()
    );
    if globals.is_empty() && methods.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for (name, uses) in globals {
        let _ = writeln!(out, "  {uses:>5}  {name}");
    }
    for (name, uses) in methods {
        let _ = writeln!(out, "  {uses:>5}  .{name}()");
    }
    out
}
