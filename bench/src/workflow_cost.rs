//! The write units of a workflow of N steps (a chain: each step waits for the one before and
//! uses its result): the workflow item's own writes — insert, the roots queued, one advance
//! per finished step — with the indexes as built and, for comparison, with every index
//! projecting the whole item; plus its step actions' writes.

use baton_aws::tables::{IndexDef, Projected};
use baton_aws::workflows::{DynamoWorkflowStore, WORKFLOWS};
use baton_domain::validation::parse_workflow;
use baton_domain::workflow::{Launch, Workflow};
use chrono::{Duration as ChronoDuration, Utc};
use serde_json::{Value, json};
use std::time::Duration;

use crate::{Item, action_images, client, item_size, total_units};

const SIZES: [usize; 4] = [1, 3, 10, 20];

fn body(steps: usize) -> Value {
    let steps: Vec<Value> = (0..steps)
        .map(|i| {
            let text = match i {
                0 => "Invoice INV-001 is filed".to_owned(),
                _ => format!("Step {i} done after {{{{steps.s{}.result.ts}}}}", i - 1),
            };
            let mut step = json!({"name": format!("s{i}"), "action": {"type": "notify", "platform": "slack",
                "priority": "normal", "data": {"channel": "#finance", "text": text}}});
            if i > 0 {
                step["dependsOn"] = json!(format!("s{}", i - 1));
            }
            step
        })
        .collect();
    json!({"name": "invoice-intake", "transactional": true, "steps": steps})
}

/// Every image the workflow item goes through when each step succeeds in turn.
fn workflow_images(steps: usize) -> anyhow::Result<(Vec<Item>, Vec<Item>)> {
    let store = DynamoWorkflowStore::new(client(), "workflows", Duration::from_secs(86_400));
    let request = parse_workflow(&body(steps)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut now = Utc::now();
    let mut w = Workflow::new("wf-invoice-intake-0001".into(), request, "0".repeat(64), now);
    let mut images = vec![store.encode(&w)?];
    let mut actions = Vec::new();
    for i in 0..=steps {
        now += ChronoDuration::milliseconds(800);
        if i > 0 {
            // The step's action finished: its own writes, and the workflow records it.
            let (id, name, wf) = (w.steps[i - 1].action_id.clone(), w.steps[i - 1].name.clone(), w.id.clone());
            let step_body = json!({"action": w.steps[i - 1].action.clone()});
            let action = action_images(&step_body, |a| {
                a.id = id;
                a.workflow_id = Some(wf);
                a.step = Some(name);
            })?;
            let done = baton_aws::store::DynamoActionStore::decode(&action[2])?;
            anyhow::ensure!(w.record(&done, now), "step {i} not recorded");
            actions.extend(action);
        }
        for launch in w.plan(now) {
            if let Launch::Step(j) = launch {
                w.steps[j].submitted = true;
            }
        }
        w.version += 1;
        w.updated_at = now;
        images.push(store.encode(&w)?);
    }
    anyhow::ensure!(w.status.is_terminal(), "the workflow did not finish: {:?}", w.status);
    Ok((images, actions))
}

/// Prints the table; `plain` is a plain action's write units.
pub fn table(plain: u64) -> anyhow::Result<()> {
    let all: Vec<IndexDef> = WORKFLOWS.indexes.iter().map(|d| IndexDef { projection: Projected::All, ..*d }).collect();
    println!(
        "| workflow | workflow item (last) | its writes | its WRU (indexes as built) | its WRU (every index ALL) | step actions' WRU | **WRU per step** |"
    );
    println!("|---|---|---|---|---|---|---|");
    for steps in SIZES {
        let (images, actions) = workflow_images(steps)?;
        let built = total_units(WORKFLOWS.indexes, &images);
        let copied = total_units(&all, &images);
        let step_units: u64 = actions.chunks(3).map(|a| total_units(baton_aws::tables::ACTIONS.indexes, a)).sum();
        println!(
            "| {steps} step{} | {} B | {} | {built} | {copied} | {step_units} | **{:.1}** |",
            if steps == 1 { "" } else { "s" },
            images.last().map(item_size).unwrap_or(0),
            images.len(),
            (built + step_units) as f64 / steps as f64,
        );
    }
    println!("\n(A plain action: {plain} WRU.)");
    Ok(())
}
