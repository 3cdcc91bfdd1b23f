//! The kind-specific fields (Azure `deployment`/`api_version`, Bedrock `region`, gateway
//! `extra_headers`, `supports_tools`), judged only by what the catalog says of each:
//! whether it is required ([`ExtraField::required`]) and its [`FieldFormat`].

use super::headers::header_name;
use super::invalid::ValidationError;
use crate::providers::catalog::{ExtraField, FieldFormat, ProviderKind};

/// Validates one extra field of `kind` by name, as entered: `None` or blank is empty.
/// The same rules [`CheckRequest::validate`](super::CheckRequest::validate) applies, for
/// forms and operations that judge one field at a time.
pub fn validate_extra_field(
    kind: ProviderKind,
    name: &str,
    value: Option<&str>,
) -> Result<(), ValidationError> {
    let field = kind
        .extra_field(name)
        .ok_or_else(|| ValidationError::UnknownField(name.to_owned()))?;
    check_field(field, value)
}

/// Checks `value` against `field`'s catalog entry.
pub(crate) fn check_field(field: &ExtraField, value: Option<&str>) -> Result<(), ValidationError> {
    let Some(value) = filled(value) else {
        return match field.required {
            true => Err(ValidationError::MissingField(field.name)),
            false => Ok(()),
        };
    };
    let bad = |why| {
        Err(ValidationError::BadField {
            field: field.name,
            why,
        })
    };
    match field.format {
        FieldFormat::PlainName { max, expected } if !plain_name(value, max) => bad(expected),
        FieldFormat::AwsRegion if !aws_region(value) => {
            bad("expected an AWS region such as us-east-1")
        }
        FieldFormat::Bool if !boolean(value) => bad("expected true or false"),
        FieldFormat::HeaderNames => value
            .split([',', '\n', '\r'])
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .try_for_each(|n| header_name(n).map(drop)),
        _ => Ok(()),
    }
}

/// The value trimmed, when anything is left.
pub(crate) fn filled(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Letters, digits, `-`, `_` and `.`, at most `max` long, not only dots: safe as a
/// path segment or query value.
fn plain_name(value: &str, max: usize) -> bool {
    value.len() <= max
        && !value.chars().all(|c| c == '.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Lowercase letters, digits and at least one `-`, at most 32 long (`us-east-1`); it
/// becomes part of a host name.
fn aws_region(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && value.contains('-')
        && value.len() <= 32
}

fn boolean(value: &str) -> bool {
    ["true", "false", "on", "off", "1", "0"]
        .iter()
        .any(|b| value.eq_ignore_ascii_case(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::catalog::FieldType;
    use crate::providers::check::CheckRequest;

    #[test]
    fn one_field_is_judged_by_its_catalog_entry() {
        use ProviderKind::*;
        assert_eq!(
            validate_extra_field(Azure, "deployment", Some("gpt-4o")),
            Ok(())
        );
        assert_eq!(
            validate_extra_field(Azure, "api_version", Some("  ")),
            Err(ValidationError::MissingField("api_version"))
        );
        assert_eq!(
            validate_extra_field(Azure, "deployment", Some("a/b")),
            Err(ValidationError::BadField {
                field: "deployment",
                why: "use letters, digits, '-', '_' or '.' (at most 64)",
            })
        );
        assert!(validate_extra_field(Azure, "deployment", Some("..")).is_err());
        assert_eq!(
            validate_extra_field(Bedrock, "region", Some("eu-west-3")),
            Ok(())
        );
        assert!(validate_extra_field(Bedrock, "region", Some("evil.com/")).is_err());
        assert!(validate_extra_field(Bedrock, "region", Some("useast1")).is_err());
        assert_eq!(validate_extra_field(Custom, "supports_tools", None), Ok(()));
        assert_eq!(
            validate_extra_field(Ollama, "supports_tools", Some("on")),
            Ok(())
        );
        assert!(validate_extra_field(Ollama, "supports_tools", Some("maybe")).is_err());
        assert_eq!(
            validate_extra_field(Gateway, "extra_headers", Some("X-Tenant, x-org\nX-A")),
            Ok(())
        );
        assert!(matches!(
            validate_extra_field(Gateway, "extra_headers", Some("X-Tenant, Authorization")),
            Err(ValidationError::BadHeader { name, .. }) if name == "Authorization"
        ));
        assert_eq!(
            validate_extra_field(Openai, "region", Some("us-east-1")),
            Err(ValidationError::UnknownField("region".to_owned()))
        );
    }

    #[test]
    fn every_text_field_of_the_catalog_is_carried_by_the_request() {
        let req = CheckRequest {
            deployment: Some("d".into()),
            api_version: Some("v".into()),
            region: Some("r".into()),
            ..CheckRequest::new(ProviderKind::Azure, "m")
        };
        for kind in ProviderKind::ALL {
            for field in kind.entry().extra_fields {
                if field.field_type == FieldType::Text {
                    assert!(req.field_value(field.name).is_some(), "{}", field.name);
                }
            }
        }
    }
}
