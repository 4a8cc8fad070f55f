//! The mail templates: one file per kind and language, with a `subject`,
//! a `text` and an (escaped) `html` block, rendered once when the message
//! is queued so that a retry sends the same words.

use std::sync::LazyLock;

use minijinja::Environment;

use crate::domain::model::Language;

/// The kinds of mail, by template name.
pub const REFERENCE_REQUEST: &str = "reference-request";
pub const REFERENCE_REMINDER: &str = "reference-reminder";
pub const REFERENCE_RECEIVED: &str = "reference-received";
pub const REFERENCE_SUBMITTED: &str = "reference-submitted";
pub const EVIDENCE_REJECTED: &str = "evidence-rejected";
pub const DECISION: &str = "decision";

macro_rules! built_in {
    ($($language:literal / $kind:literal),+ $(,)?) => {
        &[$((concat!($language, "/", $kind), include_str!(concat!("templates/", $language, "/", $kind, ".jinja")))),+]
    };
}

const BUILT_IN: &[(&str, &str)] = built_in![
    "en" / "reference-request",
    "es" / "reference-request",
    "en" / "reference-reminder",
    "es" / "reference-reminder",
    "en" / "reference-received",
    "es" / "reference-received",
    "en" / "reference-submitted",
    "es" / "reference-submitted",
    "en" / "evidence-rejected",
    "es" / "evidence-rejected",
    "en" / "decision",
    "es" / "decision",
];

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Escaping is turned on inside each `html` block, not by file name.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in BUILT_IN {
        env.add_template(name, source).expect("built-in mail templates parse");
    }
    env
});

/// A mail's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders the `kind` mail in `language` with `context`.
pub fn render(kind: &str, language: Language, context: minijinja::Value) -> Result<Rendered, minijinja::Error> {
    let template = TEMPLATES.get_template(&format!("{}/{kind}", language.tag()))?;
    let mut captured = template.render_captured(context)?;
    captured.with_state_mut(|state| {
        // A subject is one line whatever the names in it hold.
        let subject = state.render_block("subject")?.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Rendered {
            subject,
            text: state.render_block("text")?.trim().to_owned() + "\n",
            html: state.render_block("html")?.trim().to_owned() + "\n",
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn request(language: Language, waived: bool) -> Rendered {
        let context = context! {
            association_name => "NYS-AIMH",
            rater_name => "Dana <b>Whitfield</b>",
            applicant_name => "Ann & Co",
            role_name => "colleague",
            link => "https://endorse.example.org/r/abc",
            expires_on => "2026-12-31",
            waived => waived,
        };
        render(REFERENCE_REQUEST, language, context).unwrap()
    }

    #[test]
    fn every_kind_renders_in_every_language_with_html_escaped_and_text_plain() {
        for language in Language::ALL {
            let mail = request(*language, true);
            assert!(mail.subject.contains("Ann & Co") && !mail.subject.contains('\n'), "{mail:?}");
            assert!(
                mail.text.contains("Dana <b>Whitfield</b>") && mail.text.contains("https://endorse.example.org/r/abc")
            );
            assert!(mail.html.contains("Dana &lt;b&gt;Whitfield&lt;") && mail.html.contains("Ann &amp; Co"));
            assert!(mail.html.contains(&format!("lang=\"{}\"", language.tag())));
        }
        assert_ne!(request(Language::En, true).text, request(Language::Es, true).text);
        assert_ne!(request(Language::En, true).text, request(Language::En, false).text);
        for kind in [REFERENCE_REMINDER, REFERENCE_RECEIVED, REFERENCE_SUBMITTED, EVIDENCE_REJECTED, DECISION] {
            for language in Language::ALL {
                let context = context! {
                    association_name => "A", rater_name => "R", applicant_name => "P", role_name => "colleague",
                    link => "https://x.example/r/t", expires_on => "2026-12-31", waived => false,
                    file_name => "t.pdf", kind_name => "transcript", note => "Illegible.",
                    status_name => "returned for revision", category_name => "Family Specialist",
                };
                let mail = render(kind, *language, context).unwrap();
                assert!(!mail.subject.is_empty() && !mail.text.is_empty() && mail.html.starts_with("<!doctype html>"));
            }
        }
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_blank() {
        assert!(render(REFERENCE_REQUEST, Language::En, context! { rater_name => "R" }).is_err());
    }
}
