//! Typed configuration from the environment. `from_lookup` takes any lookup so tests never
//! touch the process environment; every problem is reported at once.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Physical name of the actions table (`BATON_ACTIONS_TABLE`, default `baton-actions`).
    pub actions_table: String,
    /// How long finished actions are kept (`BATON_RETENTION_DAYS`, default 30).
    pub retention: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl StoreConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let actions_table = lookup("BATON_ACTIONS_TABLE").unwrap_or_else(|| "baton-actions".into());
        if actions_table.trim().is_empty() {
            problems.push("BATON_ACTIONS_TABLE must not be empty".into());
        }
        let retention_days = match lookup("BATON_RETENTION_DAYS") {
            None => 30,
            Some(v) => match v.parse::<u64>() {
                Ok(d) if (1..=3650).contains(&d) => d,
                _ => {
                    problems
                        .push(format!("BATON_RETENTION_DAYS must be a whole number of days from 1 to 3650, got {v:?}"));
                    30
                }
            },
        };
        if !problems.is_empty() {
            return Err(ConfigError(problems));
        }
        Ok(Self { actions_table, retention: Duration::from_secs(retention_days * 86_400) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_apply_and_every_problem_is_reported() {
        let ok = StoreConfig::from_lookup(|_| None).expect("defaults");
        assert_eq!(ok.actions_table, "baton-actions");
        assert_eq!(ok.retention, Duration::from_secs(30 * 86_400));
        let env: HashMap<&str, &str> = [("BATON_ACTIONS_TABLE", " "), ("BATON_RETENTION_DAYS", "forever")].into();
        let err = StoreConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).expect_err("bad");
        assert_eq!(err.0.len(), 2);
    }
}
