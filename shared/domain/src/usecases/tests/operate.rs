//! `Operator::cancel` in each state an action can be in.

use super::*;
use crate::error::DomainError;
use crate::usecases::Operator;

fn status_of(e: Result<crate::model::Action, DomainError>) -> String {
    match e {
        Err(DomainError::InState { status, .. }) => status,
        other => panic!("expected a refusal naming the state, got {other:?}"),
    }
}

#[tokio::test]
async fn cancel_takes_what_has_not_started_and_refuses_the_rest_naming_its_state() {
    let w = World::new(vec![down()]);
    let op = Operator::over(&w.approvals());
    let queued = w.submit(json!({"id": "q-1"})).await;
    let cancelled = op.cancel(&queued, Some("not needed".into())).await.expect("queued → cancelled");
    assert_eq!((cancelled.status, cancelled.cancel_reason.as_deref()), (Status::Cancelled, Some("not needed")));

    let retrying = w.submit(json!({"id": "r-1"})).await;
    w.executor("w").execute(&item(&retrying)).await.expect("attempted");
    assert_eq!(w.store.snapshot(&retrying).expect("stored").status, Status::Retrying);
    assert_eq!(op.cancel(&retrying, None).await.expect("retrying → cancelled").status, Status::Cancelled);

    let executing = w.submit(json!({"id": "e-1"})).await;
    let a = w.store.snapshot(&executing).expect("stored");
    let leased = a.lease("w", w.clock.now(), Duration::from_secs(30)).expect("lease");
    w.store.replace(&a, &leased).await.expect("leased");
    assert_eq!(status_of(op.cancel(&executing, None).await), "executing");
    assert_eq!(status_of(op.cancel(&queued, None).await), "cancelled");
    assert!(matches!(op.cancel("nope", None).await, Err(DomainError::NotFound(_))));
}
