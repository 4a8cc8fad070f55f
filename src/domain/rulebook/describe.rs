//! Plain-language descriptions generated from a requirement's parameters.

use super::super::words::{both, either, num};
use super::{Compensation, Requirement, Rule};
use crate::domain::names::humans;

pub fn describe(req: &Requirement) -> String {
    match &req.rule {
        Rule::AllOf(children) => format!("All of: {}.", titles(children).join("; ")),
        Rule::AnyOf(children) => format!("One of: {}.", titles(children).join("; ")),
        Rule::Degree(r) => {
            let levels = humans(&r.levels);
            let related = if r.related_field { " in a related field" } else { "" };
            let license =
                if r.or_license { ", or a professional mental-health licence valid on that date" } else { "" };
            format!("A {} degree{related}, conferred on or before the evaluation date{license}.", either(&levels))
        }
        Rule::TrainingHours(r) => {
            let mut text = format!("At least {} hours of specialized training", num(r.min_hours));
            if !r.topic_minimums.is_empty() {
                let parts: Vec<String> =
                    r.topic_minimums.iter().map(|(t, h)| format!("{} hours on {t}", num(*h))).collect();
                text.push_str(&format!(", including at least {}", both(&parts)));
            }
            match r.look_back_months {
                Some(m) => text.push_str(&format!(", completed in the {m} months up to the evaluation date.")),
                None => text.push_str(", completed on or before the evaluation date."),
            }
            text
        }
        Rule::WorkExperience(r) => {
            let pay = match r.compensation {
                Compensation::Paid => "paid ",
                Compensation::PaidOrTrainedVolunteer => "paid (or supervised, specially trained volunteer) ",
                Compensation::Any => "",
            };
            let supervised = if r.require_supervised { "supervised " } else { "" };
            let kinds = humans(&r.kinds);
            let kind = if kinds.is_empty() { String::new() } else { format!("{} ", either(&kinds)) };
            let after = r.post_degree.map(|l| format!(" after the first {l} or higher degree")).unwrap_or_default();
            format!(
                "At least {} years ({} days, weighted by FTE, overlaps counted once) of {pay}{supervised}{kind}work \
                 with children in the track's age band{after}.",
                num(r.years),
                num(r.years * 365.0)
            )
        }
        Rule::ReflectiveSupervision(r) => {
            let providers = humans(&r.providers);
            let about = if r.about_providing_only {
                " about providing RS/C".to_owned()
            } else if r.about_providing_min_hours > 0.0 {
                format!(", {} of them about providing RS/C,", num(r.about_providing_min_hours))
            } else {
                String::new()
            };
            let span = if r.min_months > 0 {
                format!("{} to {}", r.min_months, r.max_months)
            } else {
                format!("at most {}", r.max_months)
            };
            format!(
                "At least {} hours of reflective supervision/consultation{about} from a {} provider, \
                 first to last session spanning {span} calendar months.",
                num(r.min_hours),
                either(&providers)
            )
        }
        Rule::References(r) => {
            let mut text = format!(
                "At least {} valid reference ratings (completed in the last 12 months, fewer than 6 \
                 \"not enough information\" answers)",
                r.count
            );
            if r.min_level_two > 0 {
                text.push_str(&format!(", at least {} from a rater endorsed at Level II or above", r.min_level_two));
            }
            if !r.roles.is_empty() {
                let roles = humans(&r.roles);
                text.push_str(&format!(", one from each of {}", both(&roles)));
            }
            text.push('.');
            text
        }
        Rule::Leadership(r) => format!("At least {} leadership activities.", r.count),
        Rule::PriorEndorsement(r) => {
            let cats = humans(&r.categories);
            format!("Already endorsed as {}.", either(&cats))
        }
        Rule::Agreement => {
            "The Code of Ethics and Endorsement Agreement, signed on or before the evaluation date.".into()
        }
        Rule::Membership => "Membership in an infant mental health association valid on the evaluation date.".into(),
        Rule::Exam => "A passed exam for this category, taken on or before the evaluation date.".into(),
    }
}

fn titles(children: &[Requirement]) -> Vec<String> {
    children.iter().map(|c| if c.optional { format!("{} (optional)", c.title) } else { c.title.to_string() }).collect()
}
