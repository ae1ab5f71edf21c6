//! `baton console`: opens the console signed in (`<url>/#key=<key>`; the page takes the key
//! from the link and drops it from the address bar at once).

use clap::Args;

use super::Globals;
use crate::client::{Failure, exit};

#[derive(Args)]
#[command(after_help = "Examples:\n  baton console\n  baton console --print   # the link, for another browser\n\n\
The browser is $BROWSER if set, else xdg-open (Linux) or open (macOS).")]
pub struct ConsoleArgs {
    /// Print the sign-in link instead of opening a browser.
    #[arg(long)]
    print: bool,
}

/// The signed-in link: the console is the API's root (the stage's, on AWS).
pub fn link(url: &str, key: Option<&str>) -> String {
    let base = format!("{}/", url.trim_end_matches('/'));
    match key {
        Some(k) => format!("{base}#key={}", form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>()),
        None => base,
    }
}

pub fn run(globals: &Globals, args: ConsoleArgs) -> Result<(), Failure> {
    let link = link(&globals.url, globals.key.as_deref());
    if args.print {
        println!("{link}");
        return Ok(());
    }
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| if cfg!(target_os = "macos") { "open".into() } else { "xdg-open".into() });
    let status = std::process::Command::new(&opener).arg(&link).status().map_err(|e| {
        Failure::new(
            exit::FAILED,
            format!(
                "cannot start {opener} ({e}); open {} yourself (baton console --print)",
                link.split('#').next().unwrap_or_default()
            ),
        )
    })?;
    if !status.success() {
        return Err(Failure::new(exit::FAILED, format!("{opener} failed ({status})")));
    }
    eprintln!("opened the console at {}", link.split('#').next().unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_link_carries_the_key_in_its_fragment_only() {
        assert_eq!(super::link("http://127.0.0.1:3000", Some("bk_a+b")), "http://127.0.0.1:3000/#key=bk_a%2Bb");
        assert_eq!(super::link("https://x/prod/", None), "https://x/prod/");
    }
}
