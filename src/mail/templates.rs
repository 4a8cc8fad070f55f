//! The mail templates. Each kind of mail has, per language, three
//! templates: a `subject`, a plain `text` body and an `html` body (escaped
//! automatically, whoever wrote it). The built-in ones are compiled in;
//! an association may publish its own, which are checked here before they
//! are accepted. Mail is rendered once, when it is queued, so that a retry
//! sends the same words.

use std::collections::HashMap;
use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use crate::domain::model::{Language, MailKind};

/// The link a rater mail carries until the outbox puts the real one in.
pub const LINK_PLACEHOLDER: &str = "https://endorse.invalid/reference-link";

/// The longest template part an association may publish, in bytes.
pub const MAX_PART_BYTES: usize = 20_000;

/// What one template may spend rendering (minijinja fuel: about one unit
/// per instruction), so that a published loop cannot stall the server.
const FUEL: u64 = 50_000;

/// The three parts of a mail's template, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSource {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A mail's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl MailKind {
    /// The template's file name, and the mail's name in logs and metrics.
    pub fn template_name(self) -> &'static str {
        match self {
            MailKind::ReferenceRequest => "reference-request",
            MailKind::ReferenceReminder => "reference-reminder",
            MailKind::ReferenceReceived => "reference-received",
            MailKind::ReferenceSubmitted => "reference-submitted",
            MailKind::EvidenceRejected => "evidence-rejected",
            MailKind::Decision => "decision",
            MailKind::RenewalReminder => "renewal-reminder",
            MailKind::EndorsementLapsed => "endorsement-lapsed",
        }
    }

    /// The values a template of this kind is given, and an example of each
    /// (what a published template is tried with). Every mail of the kind
    /// is rendered with exactly these names.
    pub fn variables(self) -> &'static [(&'static str, &'static str)] {
        const ASSOCIATION: (&str, &str) = ("association_name", "NYS-AIMH");
        const APPLICANT: (&str, &str) = ("applicant_name", "Ada Alvarez");
        const RATER: [(&str, &str); 3] =
            [("rater_name", "Dana Whitfield"), ("role_name", "supervisor"), ("waived", "true")];
        match self {
            MailKind::ReferenceRequest | MailKind::ReferenceReminder => &[
                ASSOCIATION,
                APPLICANT,
                RATER[0],
                RATER[1],
                RATER[2],
                ("link", LINK_PLACEHOLDER),
                ("expires_on", "2026-12-31"),
            ],
            MailKind::ReferenceReceived | MailKind::ReferenceSubmitted => {
                &[ASSOCIATION, APPLICANT, RATER[0], RATER[1], RATER[2]]
            }
            MailKind::EvidenceRejected => &[
                ASSOCIATION,
                APPLICANT,
                ("file_name", "certificate.pdf"),
                ("kind_name", "training certificate"),
                ("note", "The name on the certificate is not yours."),
            ],
            MailKind::Decision => &[
                ASSOCIATION,
                APPLICANT,
                ("status_name", "returned for revision"),
                ("category_name", "Infant Mental Health Specialist"),
                ("note", "Please add your RS/C log for 2024."),
            ],
            MailKind::RenewalReminder => &[
                ASSOCIATION,
                APPLICANT,
                ("category_name", "Infant Mental Health Specialist"),
                ("number", "NYS-AIMH-IMHS-000042"),
                ("reminder", "WINDOW_OPEN"),
                ("window_opens", "2027-10-01"),
                ("deadline", "2027-12-31"),
            ],
            MailKind::EndorsementLapsed => &[
                ASSOCIATION,
                APPLICANT,
                ("category_name", "Infant Mental Health Specialist"),
                ("number", "NYS-AIMH-IMHS-000042"),
                ("lapsed_on", "2028-01-01"),
                ("reason", "Not renewed by 2027-12-31"),
            ],
        }
    }

    /// Whether the mail carries the rater's link (which must then be in
    /// both bodies, or the rater cannot answer).
    pub fn carries_link(self) -> bool {
        matches!(self, MailKind::ReferenceRequest | MailKind::ReferenceReminder)
    }

    /// The example values, as a template sees them.
    pub fn sample(self) -> Value {
        let values = self.variables().iter().map(|(name, example)| {
            let value = match *example {
                "true" => Value::from(true),
                LINK_PLACEHOLDER => Value::from_safe_string(LINK_PLACEHOLDER.to_owned()),
                text => Value::from(text),
            };
            ((*name).to_owned(), value)
        });
        Value::from(values.collect::<std::collections::BTreeMap<String, Value>>())
    }
}

/// Renders templates: undefined names are errors (not blanks), `.html`
/// parts are escaped, and every render has a fuel budget.
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
});

/// The built-in templates, read from `templates/{language}/{kind}.jinja`
/// (three blocks: `subject`, `text`, `html`).
static BUILT_IN: LazyLock<HashMap<(MailKind, Language), TemplateSource>> = LazyLock::new(|| {
    macro_rules! files {
        ($($language:ident / $kind:ident = $file:literal),+ $(,)?) => {
            [$(((MailKind::$kind, Language::$language), include_str!(concat!("templates/", $file, ".jinja")))),+]
        };
    }
    let files = files![
        En / ReferenceRequest = "en/reference-request",
        Es / ReferenceRequest = "es/reference-request",
        En / ReferenceReminder = "en/reference-reminder",
        Es / ReferenceReminder = "es/reference-reminder",
        En / ReferenceReceived = "en/reference-received",
        Es / ReferenceReceived = "es/reference-received",
        En / ReferenceSubmitted = "en/reference-submitted",
        Es / ReferenceSubmitted = "es/reference-submitted",
        En / EvidenceRejected = "en/evidence-rejected",
        Es / EvidenceRejected = "es/evidence-rejected",
        En / Decision = "en/decision",
        Es / Decision = "es/decision",
        En / RenewalReminder = "en/renewal-reminder",
        Es / RenewalReminder = "es/renewal-reminder",
        En / EndorsementLapsed = "en/endorsement-lapsed",
        Es / EndorsementLapsed = "es/endorsement-lapsed",
    ];
    files
        .into_iter()
        .map(|(key, file)| (key, split_blocks(file).expect("built-in mail templates have three blocks")))
        .collect()
});

/// The built-in template of `kind` in `language`.
pub fn built_in(kind: MailKind, language: Language) -> &'static TemplateSource {
    BUILT_IN.get(&(kind, language)).expect("every kind has a built-in template in every language")
}

/// The `subject`, `text` and `html` blocks of a template file.
fn split_blocks(file: &str) -> Option<TemplateSource> {
    let block = |name: &str| {
        let start = file.find(&format!("{{% block {name} %}}"))? + name.len() + 12;
        let end = start + file[start..].find("{% endblock %}")?;
        Some(file[start..end].to_owned())
    };
    Some(TemplateSource { subject: block("subject")?, text: block("text")?, html: block("html")? })
}

/// Renders `source` with `context`, which must hold exactly the
/// variables of `kind` (so that what a published template was checked
/// with is what it gets).
pub fn render(kind: MailKind, source: &TemplateSource, context: Value) -> Result<Rendered, minijinja::Error> {
    let mut given: Vec<String> = context.try_iter()?.map(|key| key.to_string()).collect();
    let mut expected: Vec<String> = kind.variables().iter().map(|(name, _)| (*name).to_owned()).collect();
    given.sort();
    expected.sort();
    if given != expected {
        let message = format!("{} mail rendered with {given:?}, its variables are {expected:?}", kind.template_name());
        return Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message));
    }
    Ok(Rendered {
        // A subject is one line whatever the names in it hold.
        subject: render_part("subject", &source.subject, &context)?.split_whitespace().collect::<Vec<_>>().join(" "),
        text: render_part("text", &source.text, &context)?.trim().to_owned() + "\n",
        html: render_part("html", &source.html, &context)?.trim().to_owned() + "\n",
    })
}

/// One part; its name decides the escaping.
fn render_part(part: &str, source: &str, context: &Value) -> Result<String, minijinja::Error> {
    ENVIRONMENT.template_from_named_str(&format!("mail.{part}"), source)?.render(context)
}

/// What is wrong with a template an association wants to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// `subject`, `text` or `html`.
    pub part: &'static str,
    pub message: String,
}

/// Checks a template before it is published: each part within
/// [`MAX_PART_BYTES`], parses, renders with the kind's example values
/// (so it uses no name the mail will not have, and finishes within its
/// fuel), yields a subject, and carries the link where the mail needs one.
/// Returns the example mail.
pub fn check(kind: MailKind, source: &TemplateSource) -> Result<Rendered, TemplateProblem> {
    let parts = [("subject", &source.subject), ("text", &source.text), ("html", &source.html)];
    let sample = kind.sample();
    for (part, text) in parts {
        if text.len() > MAX_PART_BYTES {
            return Err(TemplateProblem { part, message: format!("is longer than {MAX_PART_BYTES} bytes") });
        }
        if text.trim().is_empty() {
            return Err(TemplateProblem { part, message: "is empty".to_owned() });
        }
        render_part(part, text, &sample).map_err(|error| TemplateProblem { part, message: describe(&error) })?;
    }
    let rendered = preview(kind, source).map_err(|e| TemplateProblem { part: "text", message: describe(&e) })?;
    if rendered.subject.is_empty() {
        return Err(TemplateProblem { part: "subject", message: "renders as nothing".to_owned() });
    }
    if kind.carries_link() {
        for (part, body) in [("text", &rendered.text), ("html", &rendered.html)] {
            if !body.contains(LINK_PLACEHOLDER) {
                let message = "must contain {{ link }}: it is the rater's way to the form".to_owned();
                return Err(TemplateProblem { part, message });
            }
        }
    }
    Ok(rendered)
}

/// A template error in words an admin can act on (with its line).
fn describe(error: &minijinja::Error) -> String {
    let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
    match error.line() {
        Some(line) => format!("line {line}: {}{detail}", error.kind()),
        None => format!("{}{detail}", error.kind()),
    }
}

/// The example mail of a template already accepted (for previews).
pub fn preview(kind: MailKind, source: &TemplateSource) -> Result<Rendered, minijinja::Error> {
    render(kind, source, kind.sample())
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
            link => Value::from_safe_string("https://endorse.example.org/r/abc".to_owned()),
            expires_on => "2026-12-31",
            waived => waived,
        };
        render(MailKind::ReferenceRequest, built_in(MailKind::ReferenceRequest, language), context).unwrap()
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
        for kind in MailKind::ALL {
            for language in Language::ALL {
                let mail =
                    check(*kind, built_in(*kind, *language)).unwrap_or_else(|e| panic!("{kind} {language}: {e:?}"));
                assert!(mail.html.starts_with("<!doctype html>"), "{kind} {language}: {}", mail.html);
            }
        }
    }

    #[test]
    fn a_context_without_the_kinds_variables_is_an_error_not_a_blank() {
        let source = built_in(MailKind::ReferenceRequest, Language::En);
        assert!(render(MailKind::ReferenceRequest, source, context! { rater_name => "R" }).is_err());
        let extra = context! { secret => "x", ..MailKind::Decision.sample() };
        assert!(render(MailKind::Decision, built_in(MailKind::Decision, Language::En), extra).is_err());
    }

    fn custom(subject: &str, text: &str, html: &str) -> TemplateSource {
        TemplateSource { subject: subject.to_owned(), text: text.to_owned(), html: html.to_owned() }
    }

    #[test]
    fn published_templates_are_checked_before_they_are_accepted() {
        let kind = MailKind::Decision;
        let good =
            custom("{{ association_name }}: {{ status_name }}", "Dear {{ applicant_name }}", "<p>{{ note }}</p>");
        let mail = check(kind, &good).unwrap();
        assert_eq!(mail.subject, "NYS-AIMH: returned for revision");

        let problem = |source: TemplateSource| check(kind, &source).unwrap_err();
        assert_eq!(problem(custom("{{ nope }}", "t", "h")).part, "subject");
        assert!(problem(custom("s", "{% if %}", "h")).message.starts_with("line 1"), "a syntax error names its line");
        assert_eq!(problem(custom("s", "t", " ")).part, "html");
        assert_eq!(problem(custom("s", &"x".repeat(MAX_PART_BYTES + 1), "h")).part, "text");
        let endless = "{% for a in range(1000) %}{% for b in range(1000) %}.{% endfor %}{% endfor %}";
        assert_eq!(problem(custom("s", endless, "h")).part, "text", "fuel stops long loops");
        assert_eq!(problem(custom("{{ rater_name }}", "t", "h")).part, "subject", "not a variable of decisions");

        // A rater mail needs the link in both bodies.
        let no_link = custom("s", "Hello {{ rater_name }}", "<a href=\"{{ link }}\">form</a>");
        assert_eq!(check(MailKind::ReferenceRequest, &no_link).unwrap_err().part, "text");
    }

    #[test]
    fn html_parts_are_escaped_whoever_wrote_them() {
        let source = custom("{{ note }}", "{{ note }}", "<p>{{ note }}</p>");
        let context = context! { note => "<script>x</script>", ..MailKind::Decision.sample() };
        let mail = render(MailKind::Decision, &source, context).unwrap();
        assert_eq!(mail.text, "<script>x</script>\n");
        assert_eq!(mail.html, "<p>&lt;script&gt;x&lt;&#x2f;script&gt;</p>\n");
    }
}
