//! `baton-bench`'s command line.

use anyhow::{Context, bail};

pub struct Opts {
    pub actions: usize,
    /// The big backlog's size (0: skipped).
    pub backlog: usize,
    /// Dashboards of the fan-out run (0: skipped).
    pub clients: usize,
    pub memory: bool,
    /// Only the steady run (for profiling).
    pub only_steady: bool,
    /// Only the fan-out run.
    pub only_fanout: bool,
    /// Only an open loop at this many actions/s.
    pub only_open: Option<f64>,
}

pub fn parse_args() -> anyhow::Result<Opts> {
    let mut opts = Opts {
        actions: 10_000,
        backlog: 100_000,
        clients: 1000,
        memory: false,
        only_steady: false,
        only_fanout: false,
        only_open: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--actions" => opts.actions = args.next().context("--actions N")?.parse()?,
            "--memory" => opts.memory = true,
            "--backlog" => opts.backlog = args.next().context("--backlog N")?.parse()?,
            "--clients" => opts.clients = args.next().context("--clients N")?.parse()?,
            "--only-steady" => opts.only_steady = true,
            "--only-fanout" => opts.only_fanout = true,
            "--only-open" => opts.only_open = Some(args.next().context("--only-open ACTIONS_PER_S")?.parse()?),
            other => bail!(
                "unknown argument {other}; usage: baton-bench [--actions N] [--backlog N] [--clients N] [--memory] [--only-steady | --only-fanout | --only-open ACTIONS_PER_S]"
            ),
        }
    }
    Ok(opts)
}
