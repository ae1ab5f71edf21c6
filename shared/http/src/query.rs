//! The query string as its pairs, in order, a parameter given twice kept twice: each route
//! checks its own fields. One that cannot be decoded is a `VALIDATION_ERROR` on `query`.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::error::ApiError;

pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::field("query", e.body_text()))?;
        Ok(Self(pairs))
    }
}
