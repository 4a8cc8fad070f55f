//! The rater page's words in each language.

use crate::domain::model::Language;

pub struct Texts {
    pub title: &'static str,
    pub heading: &'static str,
    pub language: &'static str,
    pub scale_hint: &'static str,
    pub nei: &'static str,
    pub recommend_question: &'static str,
    pub recommend_yes: &'static str,
    pub recommend_no: &'static str,
    pub comments: &'static str,
    pub endorsement_question: &'static str,
    pub choose: &'static str,
    pub not_endorsed: &'static str,
    pub save: &'static str,
    pub submit: &'static str,
    pub saved: &'static str,
    pub thanks_heading: &'static str,
    pub thanks: &'static str,
    pub refused_heading: &'static str,
    pub waived: &'static str,
    pub not_waived: &'static str,
    /// "{applicant} asked you, as their {role}, ..."
    pub intro: &'static str,
    pub expires: &'static str,
    pub invalid: &'static str,
}

const EN: Texts = Texts {
    title: "Reference rating",
    heading: "Reference rating",
    language: "Language",
    scale_hint: "For each statement, choose how often you have seen it, or \"I do not have enough information\".",
    nei: "I do not have enough information",
    recommend_question: "Do you recommend the applicant for Endorsement?",
    recommend_yes: "I recommend",
    recommend_no: "I do not recommend",
    comments: "Comments (optional)",
    endorsement_question: "Your own Endorsement",
    choose: "Choose…",
    not_endorsed: "I am not endorsed",
    save: "Save draft",
    submit: "Submit rating",
    saved: "Your draft is saved. You can come back to this page with the same link.",
    thanks_heading: "Thank you",
    thanks: "Your rating was submitted. Nothing more is needed; this link no longer opens the form.",
    refused_heading: "This link does not open a form",
    waived: "The applicant has waived the right to read your rating: only the association's reviewers will see it.",
    not_waived: "The applicant may read your rating once you submit it.",
    intro: "{applicant} asked you, as their {role}, for a reference rating for Endorsement with {association}.",
    expires: "This link works until {day}.",
    invalid: "Please check your answers: {problem}",
};

const ES: Texts = Texts {
    title: "Evaluación de referencia",
    heading: "Evaluación de referencia",
    language: "Idioma",
    scale_hint: "Para cada afirmación, elija con qué frecuencia lo ha observado, o \"No tengo suficiente información\".",
    nei: "No tengo suficiente información",
    recommend_question: "¿Recomienda a la persona solicitante para la Endorsement?",
    recommend_yes: "La recomiendo",
    recommend_no: "No la recomiendo",
    comments: "Comentarios (opcional)",
    endorsement_question: "Su propia Endorsement",
    choose: "Elija…",
    not_endorsed: "No tengo Endorsement",
    save: "Guardar borrador",
    submit: "Enviar evaluación",
    saved: "Su borrador está guardado. Puede volver a esta página con el mismo enlace.",
    thanks_heading: "Gracias",
    thanks: "Su evaluación fue enviada. No necesitamos nada más; este enlace ya no abre el formulario.",
    refused_heading: "Este enlace no abre un formulario",
    waived: "La persona solicitante renunció a leer su evaluación: solo la verán los revisores de la asociación.",
    not_waived: "La persona solicitante podrá leer su evaluación cuando la envíe.",
    intro: "{applicant} le pidió, como su {role}, una evaluación de referencia para la Endorsement de {association}.",
    expires: "Este enlace funciona hasta el {day}.",
    invalid: "Revise sus respuestas: {problem}",
};

pub fn of(language: Language) -> &'static Texts {
    match language {
        Language::En => &EN,
        Language::Es => &ES,
    }
}

/// Why a link does not open the form, in the page's language.
pub fn refusal(refused: crate::domain::reference::LinkRefused, language: Language) -> String {
    use crate::domain::reference::LinkRefused::*;
    let spanish = match refused {
        Submitted => "Esta evaluación ya fue enviada. Gracias; no necesitamos nada más.",
        Revoked => "La persona solicitante o la asociación retiró esta solicitud.",
        Expired => "Este enlace venció. La persona solicitante puede enviarle uno nuevo.",
        Unknown => "Este enlace no es válido. Si recibió uno más reciente, use ese.",
    };
    match language {
        Language::En => refused.to_string(),
        Language::Es => spanish.to_owned(),
    }
}
