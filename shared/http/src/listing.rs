//! The query of a listing route: `status` (one of a set, or `all`) and `limit`.

use baton_domain::FieldError;

/// A listing's `status` words and limits.
pub struct Listing<T: 'static> {
    /// The status when none is given (`None`: all).
    pub default: Option<T>,
    pub parse: fn(&str) -> Option<T>,
    /// The allowed words, for the error message.
    pub allowed: &'static str,
    pub default_limit: usize,
    pub max_limit: usize,
}

impl<T: Copy> Listing<T> {
    pub fn parse(&self, params: &[(String, String)]) -> Result<(Option<T>, usize), Vec<FieldError>> {
        let (mut status, mut limit, mut errors) = (self.default, self.default_limit, Vec::new());
        for (key, value) in params {
            match key.as_str() {
                "status" if value == "all" => status = None,
                "status" => match (self.parse)(value) {
                    Some(s) => status = Some(s),
                    None => errors.push(FieldError::new("query.status", format!("allowed: {}, all", self.allowed))),
                },
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=self.max_limit).contains(&n) => limit = n,
                    _ => errors.push(FieldError::new(
                        "query.limit",
                        format!("must be a whole number from 1 to {}", self.max_limit),
                    )),
                },
                other => {
                    errors.push(FieldError::new(format!("query.{other}"), "unknown parameter; allowed: status, limit"))
                }
            }
        }
        if errors.is_empty() { Ok((status, limit)) } else { Err(errors) }
    }
}
