//! Whether a declaration makes sense before anything relies on it: names unique, labels there
//! and in Unicode NFC, every rule fitting its field's type, every summary and profile field
//! declared.

use super::declaration::{FieldDeclaration, FieldType, KindDeclaration, Rule, ValueSource};
use unicode_normalization::is_nfc;

/// Checks `declaration`; `others` are the kinds a disclosure may reference as `kind:path`.
/// The error says what is wrong, in English.
pub fn check(declaration: &KindDeclaration, others: &[&KindDeclaration]) -> Result<(), String> {
    let d = declaration;
    if d.name.is_empty()
        || !d
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("kind name {:?} is not snake_case", d.name));
    }
    label(&d.name, &d.label_vi, &d.label_en)?;
    label(&d.issuer.id, &d.issuer.name_vi, &d.issuer.name_en)?;
    if d.issuer.id.is_empty() {
        return Err("the issuer has no id".into());
    }
    fields(&d.fields, &d.fields, &d.name)?;
    let is_date = |p: &str| d.field(p).is_some_and(|f| f.ty == FieldType::Date);
    match &d.summary.holder {
        ValueSource::Field { path } | ValueSource::FhirPatientName { field: path }
            if d.field(path).is_some_and(|f| f.ty == FieldType::Text) => {}
        other => {
            return Err(format!(
                "summary holder {other:?} is not a declared text field"
            ));
        }
    }
    match &d.summary.valid_until {
        None => {}
        Some(ValueSource::Field { path }) if is_date(path) => {}
        Some(ValueSource::LatestInList { list, field })
            if d.field(list)
                .is_some_and(|f| matches!(f.ty, FieldType::List { .. }))
                && is_date(&format!("{list}.{field}")) => {}
        Some(other) => {
            return Err(format!(
                "summary valid_until {other:?} is not a declared date"
            ));
        }
    }
    let mut profiles = Vec::new();
    for disclosure in &d.disclosures {
        if profiles.contains(&&disclosure.profile) {
            return Err(format!("profile {} declared twice", disclosure.profile));
        }
        profiles.push(&disclosure.profile);
        let mut names = Vec::new();
        for f in &disclosure.fields {
            if names.contains(&&f.name) {
                return Err(format!("{}: field {} twice", disclosure.profile, f.name));
            }
            names.push(&f.name);
            let declared = match f.from.split_once(':') {
                None => d.field(&f.from).is_some(),
                Some((kind, path)) => others
                    .iter()
                    .any(|o| o.name == kind && o.field(path).is_some()),
            };
            if !declared {
                return Err(format!(
                    "{}: {} comes from {}, which is not declared",
                    disclosure.profile, f.name, f.from
                ));
            }
        }
    }
    Ok(())
}

fn label(what: &str, vi: &str, en: &str) -> Result<(), String> {
    for l in [vi, en] {
        if l.trim().is_empty() {
            return Err(format!("{what}: empty label"));
        }
        if !is_nfc(l) {
            return Err(format!("{what}: label {l:?} is not in Unicode NFC"));
        }
    }
    Ok(())
}

fn fields(
    list: &[FieldDeclaration],
    root: &[FieldDeclaration],
    context: &str,
) -> Result<(), String> {
    if list.is_empty() {
        return Err(format!("{context}: no fields"));
    }
    for (i, f) in list.iter().enumerate() {
        let at = format!("{context}.{}", f.name);
        if f.name.is_empty() {
            return Err(format!("{context}: a field without a name"));
        }
        if list.iter().skip(i + 1).any(|g| g.name == f.name) {
            return Err(format!("{at}: declared twice"));
        }
        label(&at, &f.label_vi, &f.label_en)?;
        match &f.ty {
            FieldType::Enum { values } => {
                if values.is_empty() {
                    return Err(format!("{at}: an enum without values"));
                }
                for (j, v) in values.iter().enumerate() {
                    label(&format!("{at}={}", v.value), &v.label_vi, &v.label_en)?;
                    if values.iter().skip(j + 1).any(|w| w.value == v.value) {
                        return Err(format!("{at}: value {} twice", v.value));
                    }
                }
            }
            FieldType::Object { fields: inner } | FieldType::List { items: inner } => {
                fields(inner, root, &at)?;
            }
            _ => {}
        }
        for rule in &f.rules {
            let fits = match rule {
                Rule::NotBlank => f.ty == FieldType::Text,
                Rule::Pattern { regex, .. } => {
                    f.ty == FieldType::Text && regex_lite::Regex::new(regex).is_ok()
                }
                Rule::Length { min, max } => {
                    (f.ty == FieldType::Text || matches!(f.ty, FieldType::List { .. }))
                        && min.zip(*max).is_none_or(|(a, b)| a <= b)
                }
                Rule::Range { min, max } => {
                    f.ty == FieldType::Number && min.zip(*max).is_none_or(|(a, b)| a <= b)
                }
                Rule::After { field, .. } => {
                    let date = |fs: &[FieldDeclaration]| {
                        fs.iter().any(|g| {
                            g.name == *field && g.ty == FieldType::Date && g.name != f.name
                        })
                    };
                    f.ty == FieldType::Date && (date(list) || date(root))
                }
                Rule::AgeAt { field, .. } | Rule::WithinYears { field, .. } => {
                    let date = |fs: &[FieldDeclaration]| {
                        fs.iter().any(|g| {
                            g.name == *field && g.ty == FieldType::Date && g.name != f.name
                        })
                    };
                    f.ty == FieldType::Date && (date(list) || date(root))
                }
                Rule::SameAs { path } | Rule::DiffersFrom { path } => {
                    declared_at(root, path).is_some_and(|g| g.ty == f.ty)
                }
                Rule::Check { .. } => true,
            };
            if !fits {
                return Err(format!("{at}: rule {rule:?} does not fit the field"));
            }
        }
    }
    Ok(())
}

/// The field declared at a dotted path from the top level.
fn declared_at<'a>(root: &'a [FieldDeclaration], path: &str) -> Option<&'a FieldDeclaration> {
    let (first, rest) = match path.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (path, None),
    };
    let f = root.iter().find(|f| f.name == first)?;
    match (rest, &f.ty) {
        (None, _) => Some(f),
        (Some(rest), FieldType::Object { fields }) => declared_at(fields, rest),
        _ => None,
    }
}
