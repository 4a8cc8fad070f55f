//! The README's table of settings, rendered from the clap definitions so that
//! it cannot drift from what the server reads: the doc comment of a setting is
//! its meaning, and a trailing `[default: ...]` in it stands for a default
//! that clap cannot show (one that depends on other settings).
//! `scripts/config-table.sh` writes it into README.md between the
//! `<!-- config-table:start -->` and `<!-- config-table:end -->` markers.

use clap::{Arg, Args, Command};

use super::Config;

pub const START_MARKER: &str = "<!-- config-table:start -->";
pub const END_MARKER: &str = "<!-- config-table:end -->";

/// One row per setting, in declaration order: variable, flag, default, meaning.
pub fn markdown() -> String {
    let command = Config::augment_args(Command::new("endorse"));
    let mut out = String::from("| Variable | Flag | Default | Meaning |\n|---|---|---|---|\n");
    for arg in command.get_arguments().filter(|arg| arg.get_env().is_some()) {
        out.push_str(&row(arg));
    }
    out
}

fn row(arg: &Arg) -> String {
    let variable = arg.get_env().map(|v| v.to_string_lossy().into_owned()).unwrap_or_default();
    let flag = arg.get_long().map(|long| format!("`--{long}`")).unwrap_or_default();
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let (meaning, default_note) = split_default_note(&help);
    let default = match default_note {
        Some(note) => note.to_owned(),
        None => shown_default(arg),
    };
    let meaning = format!("{}{}", sentence(meaning), possible_values(arg));
    format!("| `{variable}` | {flag} | {} | {} |\n", cell(&default), cell(&meaning))
}

/// Splits `text [default: note]` into the text and the note.
fn split_default_note(help: &str) -> (&str, Option<&str>) {
    let help = help.trim_end().trim_end_matches('.');
    match help.strip_suffix(']').and_then(|rest| rest.rsplit_once("[default: ")) {
        Some((text, note)) => (text.trim_end(), Some(note)),
        None => (help, None),
    }
}

fn shown_default(arg: &Arg) -> String {
    let values: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    match values.as_slice() {
        [] => "-".to_owned(),
        [only] if only.is_empty() => "empty".to_owned(),
        _ => format!("`{}`", values.join(",")),
    }
}

/// ` Values: `a`, `b`.` for settings with a fixed set of values.
fn possible_values(arg: &Arg) -> String {
    let values: Vec<String> =
        arg.get_possible_values().iter().filter(|v| !v.is_hide_set()).map(|v| format!("`{}`", v.get_name())).collect();
    if values.is_empty() { String::new() } else { format!(" Values: {}.", values.join(", ")) }
}

/// Clap drops the final period of a one-paragraph doc comment; the table is
/// prose, so put it back.
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '?', '!']) { text.to_owned() } else { format!("{text}.") }
}

/// Keeps a table cell on one line and its pipes from splitting it.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// The table between the markers of `readme`, if both are there.
pub fn embedded(readme: &str) -> Option<&str> {
    let (_, after_start) = readme.split_once(START_MARKER)?;
    let (table, _) = after_start.split_once(END_MARKER)?;
    Some(table.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_table_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).expect("README.md");
        let embedded = embedded(&readme).expect("README.md has the config-table markers");
        let generated = markdown();
        assert!(
            embedded == generated.trim(),
            "README.md's configuration table differs from the clap definitions in src/config/. \
             Run `scripts/config-table.sh` to regenerate it (it prints `endorse config-table` between the markers).\n\
             generated:\n{generated}"
        );
    }

    #[test]
    fn rows_show_flag_default_and_meaning() {
        let table = markdown();
        let row = |variable: &str| {
            table.lines().find(|l| l.starts_with(&format!("| `{variable}` "))).unwrap_or_else(|| panic!("{variable}"))
        };
        assert_eq!(
            row("ENDORSE_MAX_PAGE_SIZE"),
            "| `ENDORSE_MAX_PAGE_SIZE` | `--max-page-size` | `100` | Largest page a connection returns (`first` is clamped to it). |"
        );
        assert!(row("ENDORSE_GRAPHIQL").contains("| on in development, off in production |"));
        assert!(row("ENDORSE_ENV").contains("Values: `development`, `production`. |"));
        assert!(row("ENDORSE_CORS_ORIGINS").contains("| empty |"));
        assert!(row("ENDORSE_RULEBOOK_FILE").contains("| its built-in rulebook |"));
        assert_eq!(table.lines().count(), 2 + crate::config::env::known_variables().len());
    }

    #[test]
    fn default_notes_are_split_off() {
        assert_eq!(split_default_note("Serve it [default: on]"), ("Serve it", Some("on")));
        assert_eq!(split_default_note("No note."), ("No note", None));
    }
}
