use chrono::NaiveDate;

use super::super::model::{Category, EvidenceKind, Track};
use super::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn err(source: &str) -> String {
    Rulebook::from_json("rulebooks/ct.json", source).expect_err("should not load").to_string()
}

/// A minimal valid rulebook with `requirements` spliced in.
fn with_requirements(requirements: &str) -> String {
    format!(
        r#"{{
  "association": "ct-aimh",
  "name": "CT",
  "versions": [
    {{
      "effectiveFrom": "2020-01-01",
      "tracks": ["INFANT"],
      "examFee": 200,
      "categories": [
        {{
          "category": "FAMILY_SPECIALIST",
          "title": {{"INFANT": "Infant Family Specialist"}},
          "requirements": {requirements}
        }}
      ]
    }}
  ]
}}"#
    )
}

#[test]
fn nys_loads_with_both_versions() {
    let rb = Rulebook::nys_aimh();
    assert_eq!(rb.association, "nys-aimh");
    let ids: Vec<&str> = rb.versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["nys-aimh@2017-01-01", "nys-aimh@2025-01-01"]);
    let old = rb.version_at(d(2024, 12, 31)).unwrap();
    let new = rb.version_at(d(2025, 1, 1)).unwrap();
    assert_eq!(old.tracks, [Track::Infant]);
    assert_eq!(new.tracks, [Track::Infant, Track::EarlyChildhood]);
    assert_eq!(old.exam_fee, Some(Fee { cents: 20_000 }));
    assert_eq!(new.exam_fee, Some(Fee { cents: 24_000 }));
    assert_eq!(old.categories.len(), 6);
    assert_eq!(new.categories.len(), 7);
    assert!(rb.version_at(d(2016, 12, 31)).is_none());
    assert_eq!(rb.version("nys-aimh@2017-01-01").unwrap().effective_from, d(2017, 1, 1));
    assert_eq!(rb.evidence, EvidencePolicy::default());
}

#[test]
fn nys_fees_titles_and_exams() {
    let rb = Rulebook::nys_aimh();
    let old = rb.version_at(d(2020, 1, 1)).unwrap();
    let fees: Vec<(u32, u32)> = old
        .categories
        .iter()
        .map(|c| (c.registration_fee.unwrap().cents / 100, c.processing_fee.unwrap().cents / 100))
        .collect();
    assert_eq!(fees, [(15, 25), (15, 100), (25, 300), (25, 400), (25, 400), (25, 400)]);
    let exams: Vec<bool> = old.categories.iter().map(CategoryDefinition::exam_required).collect();
    assert_eq!(exams, [false, false, true, true, true, true]);
    let new = rb.version_at(d(2025, 1, 1)).unwrap();
    let exams: Vec<bool> = new.categories.iter().map(CategoryDefinition::exam_required).collect();
    assert_eq!(exams, [false, false, false, true, true, true, false]);
    let ecmhs = new.category(Category::MentalHealthSpecialist).unwrap();
    assert_eq!(ecmhs.title(Track::EarlyChildhood), "Early Childhood Mental Health Specialist");
    // 2017 is left untouched by the 2025 patch.
    assert!(old.category(Category::MentalHealthSpecialist).unwrap().exam_required());
}

#[test]
fn rules_are_flattened_with_descriptions() {
    let rb = Rulebook::nys_aimh();
    let rules = rb.version_at(d(2025, 1, 1)).unwrap().category(Category::MentorClinical).unwrap().rules();
    let work = rules.iter().find(|r| r.key == "work.rsc-provision").unwrap();
    assert_eq!(work.parent.as_deref(), Some("work"));
    assert!(work.description.starts_with("At least 3 years (1095 days"), "{}", work.description);
    let rsc = rules.iter().find(|r| r.key == "rsc.hours").unwrap();
    assert_eq!(
        rsc.description,
        "At least 50 hours of reflective supervision/consultation from a Mentor (Clinical) provider, \
         first to last session spanning 12 to 24 calendar months."
    );
    assert!(rules.iter().all(|r| !r.description.is_empty() && !r.title.is_empty()));
}

#[test]
fn ct_example_loads() {
    let text = include_str!("../../../rulebooks/ct-aimh.json");
    let rb = Rulebook::from_json("rulebooks/ct-aimh.json", text).unwrap();
    let ids: Vec<&str> = rb.versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["ct-aimh@2017-01-01", "ct-aimh@2024-01-01", "ct-aimh@2025-01-01"]);
    let mentor = rb.version_at(d(2024, 6, 1)).unwrap().category(Category::MentorPolicy).unwrap();
    let Rule::TrainingHours(t) = &mentor.requirements.iter().find(|r| &*r.key == "training.hours").unwrap().rule else {
        panic!("training rule")
    };
    assert_eq!(t.min_hours, 48.0);
    assert_eq!(t.topic_minimums.len(), 2);
}

#[test]
fn unknown_credential_names_file_line_and_column() {
    let source = with_requirements(
        r#"[
            {"key": "rsc.hours", "title": "RS/C",
             "reflectiveSupervision": {"minHours": 24, "providers": ["MHS"]}}
          ]"#,
    );
    let message = err(&source);
    assert!(
        message.starts_with("rulebooks/ct.json:15:75: unknown credential `MHS` (expected one of NONE, PEER,"),
        "{message}"
    );
}

#[test]
fn syntax_and_shape_errors_carry_positions() {
    assert_eq!(err("{\n  \"association\": \"x\",,\n}"), "rulebooks/ct.json:2:22: key must be a string");
    let unknown_field = err(&with_requirements(r#"[{"key": "exam", "title": "Exam", "exam": {}, "fee": 3}]"#));
    assert!(unknown_field.starts_with("rulebooks/ct.json:13:"), "{unknown_field}");
    assert!(unknown_field.contains("unknown field `fee`"), "{unknown_field}");
    let two = err(&with_requirements(r#"[{"key": "exam", "title": "Exam", "exam": {}, "agreement": {}}]"#));
    assert!(two.contains("requirement `exam` must have exactly one of allOf, anyOf"), "{two}");
    assert!(two.starts_with("rulebooks/ct.json:13:"), "{two}");
    let none = err(&with_requirements(r#"[{"key": "exam", "title": "Exam"}]"#));
    assert!(none.contains("(found 0)"), "{none}");
}

#[test]
fn parameter_errors_name_the_requirement() {
    let cases = [
        (r#"{"key": "t", "title": "T", "trainingHours": {"minHours": -1}}"#, "requirement `t`: minHours must be"),
        (
            r#"{"key": "r", "title": "R", "reflectiveSupervision": {"minHours": 5, "providers": ["PEER"]}}"#,
            "PEER and NONE never qualify",
        ),
        (
            r#"{"key": "r", "title": "R", "reflectiveSupervision": {"minHours": 5, "providers": ["MENTOR_CLINICAL"], "minMonths": 30}}"#,
            "minMonths <= maxMonths",
        ),
        (r#"{"key": "d", "title": "D", "degree": {}}"#, "degree needs exactly one of `minLevel`"),
        (
            r#"{"key": "w", "title": "W", "workExperience": {"years": 1, "compensation": "unpaid"}}"#,
            "unknown compensation `unpaid`",
        ),
        (r#"{"key": "Bad Key", "title": "B", "exam": {}}"#, "requirement key `Bad Key`"),
        (r#"{"key": "g", "title": "G", "anyOf": []}"#, "anyOf needs at least one non-optional requirement"),
        (r#"{"key": "x", "title": "X", "references": {"count": 1, "minLevelTwo": 2}}"#, "minLevelTwo <= count"),
    ];
    for (node, expected) in cases {
        let message = err(&with_requirements(&format!("[{node}]")));
        assert!(message.contains(expected), "{node}: {message}");
        assert!(message.starts_with("rulebooks/ct.json:"), "{message}");
    }
}

#[test]
fn duplicate_keys_in_one_tree() {
    let message = err(&with_requirements(
        r#"[{"key": "exam", "title": "A", "exam": {}},
            {"key": "g", "title": "G", "allOf": [{"key": "exam", "title": "B", "exam": {}}]}]"#,
    ));
    assert!(message.contains("category FAMILY_SPECIALIST: duplicate requirement key `exam`"), "{message}");
}

/// Two versions: the base plus `second`.
fn two_versions(second: &str) -> String {
    let base = with_requirements(r#"[{"key": "exam", "title": "Exam", "exam": {}}]"#);
    let end = base.rfind("\n  ]\n}").unwrap();
    format!("{},\n{second}{}", &base[..end], &base[end..])
}

#[test]
fn cross_version_errors_name_the_json_path() {
    let cases = [
        (
            r#"{"effectiveFrom": "2019-01-01", "extends": "2020-01-01"}"#,
            "versions[1].effectiveFrom: 2019-01-01 is not after",
        ),
        (
            r#"{"effectiveFrom": "2021-01-01", "extends": "2018-01-01"}"#,
            "versions[1].extends: 2018-01-01 is not the effectiveFrom of an earlier version",
        ),
        (
            r#"{"effectiveFrom": "2021-01-01", "extends": "2020-01-01", "categories": [{"category": "FAMILY_SPECIALIST", "removeRequirements": ["agreement"]}]}"#,
            "versions[1].categories[0].removeRequirements[0]: no requirement `agreement` in FAMILY_SPECIALIST to remove",
        ),
        (
            r#"{"effectiveFrom": "2021-01-01", "extends": "2020-01-01", "categories": [{"category": "MENTOR_POLICY", "removeRequirements": ["exam"]}]}"#,
            "versions[1].categories[0]: MENTOR_POLICY is not inherited",
        ),
        (
            r#"{"effectiveFrom": "2021-01-01", "extends": "2020-01-01", "categories": [{"category": "FAMILY_SPECIALIST", "removeRequirements": ["exam"]}]}"#,
            "versions[1].categories[FAMILY_SPECIALIST]: has no requirements left",
        ),
        (
            r#"{"effectiveFrom": "2021-01-01", "extends": "2020-01-01", "tracks": ["INFANT", "EARLY_CHILDHOOD"]}"#,
            "versions[1].categories[FAMILY_SPECIALIST]: no title for offered track EARLY_CHILDHOOD",
        ),
        (r#"{"effectiveFrom": "2021-01-01"}"#, "versions[1].tracks: missing"),
        (
            r#"{"effectiveFrom": "2021-01-01", "extends": "2020-01-01", "categories": [{"category": "FAMILY_SPECIALIST", "addRequirements": [{"key": "exam", "title": "Again", "exam": {}}]}]}"#,
            "duplicate requirement key `exam`",
        ),
    ];
    for (version, expected) in cases {
        let message = err(&two_versions(version));
        assert!(message.starts_with("rulebooks/ct.json: versions["), "{message}");
        assert!(message.contains(expected), "{version}\n{message}");
    }
}

#[test]
fn extends_patches_without_touching_the_base() {
    let source = two_versions(
        r#"{"effectiveFrom": "2021-01-01", "extends": "2020-01-01", "examFee": 240,
            "categories": [{"category": "FAMILY_SPECIALIST", "processingFee": 12.5,
              "replaceRequirements": [{"key": "exam", "title": "Exam", "optional": true, "exam": {}}],
              "addRequirements": [{"key": "agreement", "title": "Agreement", "agreement": {}}]}]}"#,
    );
    let rb = Rulebook::from_json("x.json", &source).unwrap();
    let (old, new) = (&rb.versions[0], &rb.versions[1]);
    assert_eq!(new.exam_fee, Some(Fee { cents: 24_000 }));
    assert_eq!(new.tracks, old.tracks);
    let c = new.category(Category::FamilySpecialist).unwrap();
    assert_eq!(c.processing_fee, Some(Fee { cents: 1250 }));
    assert!(c.requirements[0].optional);
    assert!(!c.exam_required());
    assert_eq!(c.requirements.len(), 2);
    assert!(old.category(Category::FamilySpecialist).unwrap().exam_required());
}

#[test]
fn evidence_policy_overrides_per_entry_type() {
    let source = with_requirements(r#"[{"key": "exam", "title": "Exam", "exam": {}}]"#).replacen(
        "\"name\": \"CT\",",
        "\"name\": \"CT\", \"evidence\": {\"work\": [\"OTHER\"], \"exams\": []},",
        1,
    );
    let rb = Rulebook::from_json("x.json", &source).unwrap();
    assert_eq!(rb.evidence.work, [EvidenceKind::Other]);
    assert!(rb.evidence.exams.is_empty());
    assert_eq!(rb.evidence.training, [EvidenceKind::TrainingCertificate]);
}

#[test]
fn fees_must_be_whole_cents() {
    let source = with_requirements(r#"[{"key": "exam", "title": "Exam", "exam": {}}]"#).replace("200", "200.555");
    assert!(err(&source).contains("at most 2 decimals"));
}
